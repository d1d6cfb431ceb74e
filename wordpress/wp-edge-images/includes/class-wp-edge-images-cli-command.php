<?php
/**
 * WP-CLI: `wp edge-images`.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * Talk to the wp-edge-images worker.
 */
class WP_Edge_Images_CLI_Command {

	/**
	 * Prints the registered image sizes as the worker's IMAGE_SIZES value.
	 *
	 * ## EXAMPLES
	 *
	 *     wp edge-images sizes-json
	 *
	 * @subcommand sizes-json
	 */
	public function sizes_json() {
		WP_CLI::line( WP_Edge_Images_Commands::sizes_json() );
	}

	/**
	 * Fetches every size of an attachment from the worker and reports any status, type or dimension that differs from the metadata.
	 *
	 * ## OPTIONS
	 *
	 * <id>
	 * : Attachment ID.
	 *
	 * ## EXAMPLES
	 *
	 *     wp edge-images check 123
	 *
	 * @param array $args Positional arguments.
	 */
	public function check( $args ) {
		$result = WP_Edge_Images_Commands::check( (int) $args[0] );
		if ( is_wp_error( $result ) ) {
			WP_CLI::error( $result );
		}
		foreach ( $result['lines'] as $line ) {
			WP_CLI::line( $line );
		}
		if ( $result['differences'] > 0 ) {
			WP_CLI::halt( 1 );
		}
	}

	/**
	 * Fetches dominant_color and has_transparency from the worker's size table into the attachment metadata.
	 *
	 * ## OPTIONS
	 *
	 * <id>
	 * : Attachment ID.
	 *
	 * @param array $args Positional arguments.
	 */
	public function placeholders( $args ) {
		$result = WP_Edge_Images_Commands::placeholders( (int) $args[0] );
		if ( is_wp_error( $result ) ) {
			WP_CLI::error( $result );
		}
		WP_CLI::line( (string) wp_json_encode( (object) $result ) );
	}
}
