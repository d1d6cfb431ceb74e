<?php
/**
 * Purge the worker's copies when an image changes or goes.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * Calls POST {origin}/_admin/purge with {"images": [upload keys]} when an
 * attachment is deleted, its file replaced or edited. A purge that fails
 * (timeout, worker down, refused) is kept in an option, shown as an admin
 * notice and retried by WP-Cron until it succeeds.
 */
class WP_Edge_Images_Purge {

	const QUEUE_OPTION = 'wp_edge_images_purge_queue';
	const RETRY_HOOK   = 'wp_edge_images_retry_purge';
	/** Seconds between retries. */
	const RETRY_DELAY = 300;

	/**
	 * Keys already purged in this request (one attachment change fires several hooks).
	 *
	 * @var array<string, true>
	 */
	private static $done = array();

	/**
	 * Hook in.
	 */
	public static function register() {
		add_action( 'delete_attachment', array( __CLASS__, 'on_delete' ), 10, 1 );
		add_filter( 'update_attached_file', array( __CLASS__, 'on_update_attached_file' ), 10, 2 );
		add_filter( 'wp_update_attachment_metadata', array( __CLASS__, 'on_update_metadata' ), 10, 2 );
		add_filter( 'wp_save_image_editor_file', array( __CLASS__, 'on_edit' ), 10, 5 );
		add_action( self::RETRY_HOOK, array( __CLASS__, 'retry' ) );
		add_action( 'admin_notices', array( __CLASS__, 'notice' ) );
	}

	/**
	 * Plugin deactivation: stop retrying (the queue stays for a later activation).
	 */
	public static function deactivate() {
		wp_clear_scheduled_hook( self::RETRY_HOOK );
	}

	/**
	 * `delete_attachment` (runs before the files are deleted).
	 *
	 * @param int $attachment_id Attachment.
	 */
	public static function on_delete( $attachment_id ) {
		self::purge( self::keys_for_attachment( (int) $attachment_id ) );
	}

	/**
	 * `update_attached_file`: the attachment's file is being replaced.
	 *
	 * @param string $file          New file (absolute path).
	 * @param int    $attachment_id Attachment.
	 * @return string The file, unchanged.
	 */
	public static function on_update_attached_file( $file, $attachment_id ) {
		if ( ! self::is_image( $attachment_id ) ) {
			return $file;
		}
		$old = (string) get_post_meta( (int) $attachment_id, '_wp_attached_file', true );
		if ( '' === $old ) {
			return $file; // A new upload: nothing of it can be cached yet.
		}
		$old_key = WP_Edge_Images_Config::upload_key( $old );
		$new_key = WP_Edge_Images_Config::upload_key( $file );
		if ( $old_key !== $new_key && self::is_copy_of( $new_key, $old_key ) ) {
			return $file; // WordPress switching to its own -scaled/-rotated copy at upload.
		}
		self::purge( self::keys_for_attachment( (int) $attachment_id ) );
		return $file;
	}

	/**
	 * `wp_update_attachment_metadata`: purge when the metadata names another file than before.
	 *
	 * @param array $data          New metadata.
	 * @param int   $attachment_id Attachment.
	 * @return array The metadata, unchanged.
	 */
	public static function on_update_metadata( $data, $attachment_id ) {
		if ( ! is_array( $data ) || empty( $data['file'] ) || ! self::is_image( $attachment_id ) ) {
			return $data;
		}
		$old = wp_get_attachment_metadata( (int) $attachment_id, true );
		if ( ! is_array( $old ) || empty( $old['file'] ) || $old['file'] === $data['file'] ) {
			return $data;
		}
		if ( self::is_copy_of( $data['file'], $old['file'] ) ) {
			return $data; // The -scaled/-rotated copy made at upload.
		}
		$keys = array( $old['file'] );
		if ( ! empty( $old['original_image'] ) ) {
			$keys[] = self::sibling( $old['file'], $old['original_image'] );
		}
		self::purge( $keys );
		return $data;
	}

	/**
	 * `wp_save_image_editor_file`: an edit in the media editor is being saved.
	 *
	 * @param bool|null       $override  Short-circuit value, passed through.
	 * @param string          $filename  File being written.
	 * @param WP_Image_Editor $image     Editor.
	 * @param string          $mime_type Type.
	 * @param int             $post_id   Attachment.
	 * @return bool|null
	 */
	public static function on_edit( $override, $filename, $image, $mime_type, $post_id ) {
		if ( $post_id && self::is_image( $post_id ) ) {
			self::purge( self::keys_for_attachment( (int) $post_id ) );
		}
		return $override;
	}

	/**
	 * Every upload key of an attachment: its file, the upload its -scaled or
	 * -rotated copy came from, and earlier edits' full-size files.
	 *
	 * @param int $attachment_id Attachment.
	 * @return string[]
	 */
	public static function keys_for_attachment( $attachment_id ) {
		if ( ! self::is_image( $attachment_id ) ) {
			return array();
		}
		$keys     = array();
		$attached = (string) get_post_meta( $attachment_id, '_wp_attached_file', true );
		if ( '' !== $attached ) {
			$keys[] = WP_Edge_Images_Config::upload_key( $attached );
		}
		$meta = wp_get_attachment_metadata( $attachment_id, true );
		if ( is_array( $meta ) && ! empty( $meta['file'] ) ) {
			$keys[] = $meta['file'];
			if ( ! empty( $meta['original_image'] ) ) {
				$keys[] = self::sibling( $meta['file'], $meta['original_image'] );
			}
		}
		$backups = get_post_meta( $attachment_id, '_wp_attachment_backup_sizes', true );
		if ( is_array( $backups ) && ! empty( $keys[0] ) ) {
			foreach ( $backups as $name => $backup ) {
				if ( 0 === strpos( (string) $name, 'full-' ) && ! empty( $backup['file'] ) ) {
					$keys[] = self::sibling( $keys[0], $backup['file'] );
				}
			}
		}
		return array_values( array_unique( array_filter( $keys ) ) );
	}

	/**
	 * Purge now; on failure queue the keys for WP-Cron and remember the error for the admin notice.
	 *
	 * @param string[] $keys Upload keys.
	 * @return true|WP_Error
	 */
	public static function purge( array $keys ) {
		$todo = array();
		foreach ( $keys as $key ) {
			if ( '' !== $key && ! isset( self::$done[ $key ] ) ) {
				$todo[]              = $key;
				self::$done[ $key ] = true;
			}
		}
		if ( empty( $todo ) || ! WP_Edge_Images_Config::enabled() ) {
			return true;
		}
		$result = WP_Edge_Images_Worker::purge( $todo );
		if ( is_wp_error( $result ) ) {
			self::enqueue( $todo, $result->get_error_message() );
		}
		return $result;
	}

	/**
	 * WP-Cron: send the queued purges again.
	 */
	public static function retry() {
		$queue = self::queue();
		if ( empty( $queue['keys'] ) ) {
			return;
		}
		$result = WP_Edge_Images_Worker::purge( $queue['keys'] );
		if ( true === $result ) {
			delete_option( self::QUEUE_OPTION );
			return;
		}
		$queue['error']    = $result->get_error_message();
		$queue['attempts'] = (int) $queue['attempts'] + 1;
		$queue['time']     = time();
		update_option( self::QUEUE_OPTION, $queue, false );
		self::schedule();
	}

	/**
	 * The pending purges: { keys, error, attempts, time }.
	 *
	 * @return array
	 */
	public static function queue() {
		$queue = get_option( self::QUEUE_OPTION, array() );
		return wp_parse_args(
			is_array( $queue ) ? $queue : array(),
			array(
				'keys'     => array(),
				'error'    => '',
				'attempts' => 0,
				'time'     => 0,
			)
		);
	}

	/**
	 * `admin_notices`: say that purges failed and are being retried.
	 */
	public static function notice() {
		if ( ! current_user_can( 'upload_files' ) ) {
			return;
		}
		$queue = self::queue();
		if ( empty( $queue['keys'] ) ) {
			return;
		}
		$next = wp_next_scheduled( self::RETRY_HOOK );
		printf(
			'<div class="notice notice-error"><p>%s</p></div>',
			esc_html(
				sprintf(
					/* translators: 1: number of images, 2: error message, 3: time of the next try */
					_n(
						'WP Edge Images could not purge %1$d image from the worker\'s cache (%2$s). WP-Cron retries it %3$s.',
						'WP Edge Images could not purge %1$d images from the worker\'s cache (%2$s). WP-Cron retries them %3$s.',
						count( $queue['keys'] ),
						'wp-edge-images'
					),
					count( $queue['keys'] ),
					$queue['error'],
					$next ? sprintf(
						/* translators: %s: human time difference */
						__( 'in %s', 'wp-edge-images' ),
						human_time_diff( time(), $next )
					) : __( 'soon', 'wp-edge-images' )
				)
			)
		);
	}

	/**
	 * Add keys to the retry queue and make sure a retry is scheduled.
	 *
	 * @param string[] $keys  Upload keys.
	 * @param string   $error Why the purge failed.
	 */
	private static function enqueue( array $keys, $error ) {
		$queue          = self::queue();
		$queue['keys']  = array_values( array_unique( array_merge( $queue['keys'], $keys ) ) );
		$queue['error'] = $error;
		$queue['time']  = time();
		update_option( self::QUEUE_OPTION, $queue, false );
		self::schedule();
	}

	/**
	 * Schedule one retry unless one is pending.
	 */
	private static function schedule() {
		if ( ! wp_next_scheduled( self::RETRY_HOOK ) ) {
			wp_schedule_single_event( time() + self::RETRY_DELAY, self::RETRY_HOOK );
		}
	}

	/**
	 * Whether an attachment is an image.
	 *
	 * @param int $attachment_id Attachment.
	 * @return bool
	 */
	private static function is_image( $attachment_id ) {
		$mime = get_post_mime_type( (int) $attachment_id );
		return is_string( $mime ) && 0 === strpos( $mime, 'image/' );
	}

	/**
	 * Whether `$copy` is WordPress's -scaled or -rotated copy of `$upload`.
	 *
	 * @param string $copy   Key or path.
	 * @param string $upload Key or path.
	 * @return bool
	 */
	private static function is_copy_of( $copy, $upload ) {
		$dot  = strrpos( $upload, '.' );
		$stem = false === $dot ? $upload : substr( $upload, 0, $dot );
		return (bool) preg_match( '/^' . preg_quote( $stem, '/' ) . '-(scaled|rotated)\.[A-Za-z0-9]+$/', $copy );
	}

	/**
	 * A file name in the same folder as a key.
	 *
	 * @param string $key  Upload key.
	 * @param string $name File name.
	 * @return string
	 */
	private static function sibling( $key, $name ) {
		$dir = dirname( $key );
		return ( '.' === $dir || '' === $dir ) ? wp_basename( $name ) : $dir . '/' . wp_basename( $name );
	}
}
