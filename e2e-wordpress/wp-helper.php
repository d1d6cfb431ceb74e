<?php
/**
 * The test's hands inside WordPress, through php-cli and wp-load.php (WP-CLI
 * is in neither Debian nor npm): `php wp-helper.php <wordpress dir> <command> [args]`.
 * Prints JSON.
 *
 *   install <url> <user> <password>   wp_install(), pretty permalinks off
 *   theme <stylesheet>                switch_theme()
 *   activate|deactivate <plugin>      e.g. wp-edge-images/wp-edge-images.php
 *   app-password <user>               a new application password
 *   meta <id>                         the attachment's stored metadata
 *   set-size <id> <size> <field> <v>  tamper with one field of a size's metadata
 *   option <name>                     get_option()
 *   next-scheduled <hook> <json args> wp_next_scheduled()
 *   set-option <name> <json>          update_option()
 *   regenerate <id>                   wp_generate_attachment_metadata() from the original, saved (as `wp media regenerate`)
 *   fill-missing <id> <size>          drop a size from the metadata, then wp_update_image_subsizes()
 *   edit-rotate <id>                  the media editor's "rotate 90° and save" (wp_save_image())
 *   purge-with-origin <origin> <key>  purge through the plugin with another worker origin (to make one fail)
 *   retry-purges                      run the WP-Cron retry now
 *   admin-notices                     what admin_notices prints for the admin user
 *
 * @package WP_Edge_Images
 */

if ( 'cli' !== PHP_SAPI ) {
	exit( 1 );
}
$root    = $argv[1];
$command = $argv[2];
$args    = array_slice( $argv, 3 );

if ( 'install' === $command ) {
	define( 'WP_INSTALLING', true );
}
if ( 'purge-with-origin' === $command ) {
	define( 'WP_EDGE_IMAGES_ORIGIN', $args[0] );
}
$_SERVER['HTTP_HOST'] = '127.0.0.1';
require $root . '/wp-load.php';

/**
 * Print a value as one line of JSON.
 *
 * @param mixed $value What to print.
 */
function out( $value ) {
	echo wp_json_encode( $value ) . "\n";
}

switch ( $command ) {
	case 'install':
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		if ( ! is_blog_installed() ) {
			$result = wp_install( 'Edge Images Test', $args[1], 'admin@example.com', false, '', $args[2] );
			update_option( 'permalink_structure', '' );
			out( array( 'user_id' => $result['user_id'] ) );
		} else {
			out( array( 'installed' => true ) );
		}
		break;
	case 'theme':
		switch_theme( $args[0] );
		out( get_stylesheet() );
		break;
	case 'activate':
	case 'deactivate':
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
		if ( 'activate' === $command ) {
			$result = activate_plugin( $args[0] );
			if ( is_wp_error( $result ) ) {
				fwrite( STDERR, $result->get_error_message() . "\n" );
				exit( 1 );
			}
		} else {
			deactivate_plugins( $args[0] );
		}
		out( get_option( 'active_plugins' ) );
		break;
	case 'app-password':
		$user = get_user_by( 'login', $args[0] );
		list( $password ) = WP_Application_Passwords::create_new_application_password( $user->ID, array( 'name' => 'e2e ' . microtime( true ) ) );
		out( $password );
		break;
	case 'meta':
		out( wp_get_attachment_metadata( (int) $args[0], true ) );
		break;
	case 'set-size':
		$meta = wp_get_attachment_metadata( (int) $args[0], true );
		$meta['sizes'][ $args[1] ][ $args[2] ] = is_numeric( $args[3] ) ? (int) $args[3] : $args[3];
		// Straight to the database: no plugin filter sees the tampering.
		update_post_meta( (int) $args[0], '_wp_attachment_metadata', $meta );
		out( $meta['sizes'][ $args[1] ] );
		break;
	case 'option':
		out( get_option( $args[0], null ) );
		break;
	case 'next-scheduled':
		out( wp_next_scheduled( $args[0], json_decode( $args[1], true ) ) );
		break;
	case 'set-option':
		update_option( $args[0], json_decode( $args[1], true ) );
		out( get_option( $args[0] ) );
		break;
	case 'regenerate':
		require_once ABSPATH . 'wp-admin/includes/image.php';
		$meta = wp_generate_attachment_metadata( (int) $args[0], wp_get_original_image_path( (int) $args[0] ) );
		wp_update_attachment_metadata( (int) $args[0], $meta );
		out( wp_get_attachment_metadata( (int) $args[0], true ) );
		break;
	case 'fill-missing':
		require_once ABSPATH . 'wp-admin/includes/image.php';
		$meta = wp_get_attachment_metadata( (int) $args[0], true );
		unset( $meta['sizes'][ $args[1] ] );
		update_post_meta( (int) $args[0], '_wp_attachment_metadata', $meta );
		$result = wp_update_image_subsizes( (int) $args[0] );
		out( is_wp_error( $result ) ? $result->get_error_message() : wp_get_attachment_metadata( (int) $args[0], true ) );
		break;
	case 'edit-rotate':
		require_once ABSPATH . 'wp-admin/includes/image.php';
		require_once ABSPATH . 'wp-admin/includes/image-edit.php';
		$admins = get_users( array( 'role' => 'administrator' ) );
		wp_set_current_user( $admins[0]->ID );
		$_REQUEST['history'] = wp_slash( '[{"r":90}]' );
		$_REQUEST['target']  = 'all';
		$_REQUEST['context'] = 'edit-attachment';
		$result              = wp_save_image( (int) $args[0] );
		if ( ! empty( $result->error ) ) {
			fwrite( STDERR, $result->error . "\n" );
			exit( 1 );
		}
		out( wp_get_attachment_metadata( (int) $args[0], true ) );
		break;
	case 'purge-with-origin':
		$result = WP_Edge_Images_Purge::purge( array( $args[1] ) );
		out( is_wp_error( $result ) ? $result->get_error_message() : true );
		break;
	case 'retry-purges':
		WP_Edge_Images_Purge::retry();
		out( WP_Edge_Images_Purge::queue() );
		break;
	case 'admin-notices':
		$admins = get_users( array( 'role' => 'administrator' ) );
		wp_set_current_user( $admins[0]->ID );
		ob_start();
		do_action( 'admin_notices' );
		out( ob_get_clean() );
		break;
	default:
		fwrite( STDERR, "unknown command $command\n" );
		exit( 2 );
}
