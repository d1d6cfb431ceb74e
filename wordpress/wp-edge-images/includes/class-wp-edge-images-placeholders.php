<?php
/**
 * Placeholder colour and transparency from the worker's size table.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * After an upload, reads `dominant_color` (6 hex digits, no '#') and
 * `has_transparency` (bool) from GET {origin}/_sizes/<upload key> and stores
 * them in the attachment metadata under the same names the Image Placeholders
 * plugin uses. A table without them changes nothing. When the worker cannot
 * answer yet (the offload plugin has not copied the file, or it is down),
 * WP-Cron asks again a few times.
 */
class WP_Edge_Images_Placeholders {

	const HOOK = 'wp_edge_images_placeholders';
	/** Tries in all, the one at upload included. */
	const MAX_ATTEMPTS = 5;
	/** Seconds between tries. */
	const DELAY = 120;

	/**
	 * Hook in.
	 */
	public static function register() {
		// Late, after offload plugins have copied the upload to the bucket.
		add_filter( 'wp_generate_attachment_metadata', array( __CLASS__, 'on_generate' ), 200, 3 );
		add_action( self::HOOK, array( __CLASS__, 'retry' ), 10, 2 );
	}

	/**
	 * `wp_generate_attachment_metadata`: ask the worker once, then leave it to WP-Cron.
	 *
	 * @param array  $metadata      Attachment metadata.
	 * @param int    $attachment_id Attachment.
	 * @param string $context       'create' or 'update'.
	 * @return array
	 */
	public static function on_generate( $metadata, $attachment_id = 0, $context = 'create' ) {
		if ( 'create' !== $context || ! is_array( $metadata ) || empty( $metadata['file'] ) || ! WP_Edge_Images_Config::enabled() ) {
			return $metadata;
		}
		$table = WP_Edge_Images_Worker::size_table( $metadata['file'], 2 );
		if ( is_wp_error( $table ) ) {
			if ( self::worth_retrying( $table ) ) {
				wp_schedule_single_event( time() + self::DELAY, self::HOOK, array( (int) $attachment_id, 2 ) );
			}
			return $metadata;
		}
		return self::apply( $metadata, $table );
	}

	/**
	 * WP-Cron, or `wp edge-images placeholders`: fetch and store them now.
	 *
	 * @param int $attachment_id Attachment.
	 * @param int $attempt       This try's number (1 = the upload's).
	 * @return true|WP_Error
	 */
	public static function retry( $attachment_id, $attempt = self::MAX_ATTEMPTS ) {
		$metadata = wp_get_attachment_metadata( (int) $attachment_id, true );
		if ( ! is_array( $metadata ) || empty( $metadata['file'] ) ) {
			return new WP_Error( 'wp_edge_images_not_image', 'not an image attachment' );
		}
		$table = WP_Edge_Images_Worker::size_table( $metadata['file'], 5 );
		if ( is_wp_error( $table ) ) {
			if ( (int) $attempt < self::MAX_ATTEMPTS && self::worth_retrying( $table ) ) {
				wp_schedule_single_event( time() + self::DELAY * (int) $attempt, self::HOOK, array( (int) $attachment_id, (int) $attempt + 1 ) );
			}
			return $table;
		}
		$updated = self::apply( $metadata, $table );
		if ( $updated !== $metadata ) {
			wp_update_attachment_metadata( (int) $attachment_id, $updated );
		}
		return true;
	}

	/**
	 * Copy the fields the table has (and only well-formed ones) into the metadata.
	 *
	 * @param array $metadata Attachment metadata.
	 * @param array $table    Decoded size table.
	 * @return array
	 */
	public static function apply( array $metadata, array $table ) {
		if ( isset( $table['dominant_color'] ) && is_string( $table['dominant_color'] ) && preg_match( '/^[0-9a-fA-F]{6}$/', $table['dominant_color'] ) ) {
			$metadata['dominant_color'] = strtolower( $table['dominant_color'] );
		}
		if ( isset( $table['has_transparency'] ) && is_bool( $table['has_transparency'] ) ) {
			$metadata['has_transparency'] = $table['has_transparency'];
		}
		return $metadata;
	}

	/**
	 * Network errors, 404 (not in the bucket yet) and 5xx are retried; 415/422 (a type or size the worker does not make) are final.
	 *
	 * @param WP_Error $error From WP_Edge_Images_Worker::size_table().
	 * @return bool
	 */
	private static function worth_retrying( WP_Error $error ) {
		$data = $error->get_error_data();
		if ( ! is_array( $data ) || ! isset( $data['status'] ) ) {
			return 'wp_edge_images_no_origin' !== $error->get_error_code();
		}
		return 404 === (int) $data['status'] || (int) $data['status'] >= 500;
	}
}
