<?php
/**
 * The plugin's commands without WP-CLI, through php-cli and wp-load.php:
 *
 *     php wp-content/plugins/wp-edge-images/bin/wp-edge-images.php [--path=/path/to/wordpress] [--url=https://example.com] sizes-json
 *     php .../bin/wp-edge-images.php check <attachment-id>
 *     php .../bin/wp-edge-images.php placeholders <attachment-id>
 *
 * Same output and exit codes as `wp edge-images ...`. --path is the folder
 * holding wp-load.php (default: searched upwards from this file); --url sets
 * the host for configs that pick a site by host (multisite, Debian's package).
 *
 * @package WP_Edge_Images
 */

if ( 'cli' !== PHP_SAPI ) {
	exit( 1 );
}

$wp_edge_images_path = '';
$wp_edge_images_args = array();
foreach ( array_slice( $argv, 1 ) as $wp_edge_images_arg ) {
	if ( 0 === strpos( $wp_edge_images_arg, '--path=' ) ) {
		$wp_edge_images_path = substr( $wp_edge_images_arg, 7 );
	} elseif ( 0 === strpos( $wp_edge_images_arg, '--url=' ) ) {
		$wp_edge_images_url      = parse_url( substr( $wp_edge_images_arg, 6 ) ); // phpcs:ignore WordPress.WP.AlternativeFunctions.parse_url_parse_url -- WordPress is not loaded yet.
		$_SERVER['HTTP_HOST']    = isset( $wp_edge_images_url['host'] ) ? $wp_edge_images_url['host'] . ( isset( $wp_edge_images_url['port'] ) ? ':' . $wp_edge_images_url['port'] : '' ) : 'localhost';
		$_SERVER['HTTPS']        = ( isset( $wp_edge_images_url['scheme'] ) && 'https' === $wp_edge_images_url['scheme'] ) ? 'on' : '';
		$_SERVER['REQUEST_URI']  = isset( $wp_edge_images_url['path'] ) ? $wp_edge_images_url['path'] : '/';
		$_SERVER['SERVER_NAME']  = isset( $wp_edge_images_url['host'] ) ? $wp_edge_images_url['host'] : 'localhost';
	} else {
		$wp_edge_images_args[] = $wp_edge_images_arg;
	}
}
if ( '' === $wp_edge_images_path ) {
	for ( $wp_edge_images_dir = dirname( __DIR__ ), $wp_edge_images_i = 0; $wp_edge_images_i < 8; $wp_edge_images_i++, $wp_edge_images_dir = dirname( $wp_edge_images_dir ) ) {
		if ( file_exists( $wp_edge_images_dir . '/wp-load.php' ) ) {
			$wp_edge_images_path = $wp_edge_images_dir;
			break;
		}
	}
}
if ( '' === $wp_edge_images_path || ! file_exists( rtrim( $wp_edge_images_path, '/' ) . '/wp-load.php' ) ) {
	fwrite( STDERR, "wp-load.php not found: pass --path=/path/to/wordpress\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
	exit( 2 );
}
if ( ! isset( $_SERVER['HTTP_HOST'] ) ) {
	$_SERVER['HTTP_HOST'] = 'localhost';
}

require rtrim( $wp_edge_images_path, '/' ) . '/wp-load.php';

if ( ! class_exists( 'WP_Edge_Images_Commands' ) ) {
	fwrite( STDERR, "The wp-edge-images plugin is not active on this site.\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
	exit( 2 );
}
exit( WP_Edge_Images_Commands::main( (string) array_shift( $wp_edge_images_args ), $wp_edge_images_args ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- an exit code.
