<?php
/**
 * The command-line jobs, shared by WP-CLI (`wp edge-images ...`) and
 * bin/wp-edge-images.php (plain php-cli, for hosts without WP-CLI).
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * sizes-json, check, placeholders.
 */
class WP_Edge_Images_Commands {

	/**
	 * The worker's IMAGE_SIZES value: exactly what wp_get_registered_image_subsizes() gives, as JSON.
	 *
	 * @return string
	 */
	public static function sizes_json() {
		return (string) wp_json_encode( wp_get_registered_image_subsizes() );
	}

	/**
	 * Fetch every file of an image attachment (full size and each size in its
	 * metadata) from the worker and compare status, Content-Type, decoded
	 * type and dimensions with the metadata.
	 *
	 * @param int $attachment_id Attachment.
	 * @return array{lines: string[], checked: int, differences: int}|WP_Error
	 */
	public static function check( $attachment_id ) {
		$attachment_id = (int) $attachment_id;
		$meta          = wp_get_attachment_metadata( $attachment_id );
		if ( ! wp_attachment_is_image( $attachment_id ) || ! is_array( $meta ) || empty( $meta['file'] ) ) {
			return new WP_Error( 'wp_edge_images_not_image', sprintf( 'attachment %d is not an image with metadata', $attachment_id ) );
		}
		$uploads = wp_get_upload_dir();
		$dir     = dirname( $meta['file'] );
		$base    = untrailingslashit( $uploads['baseurl'] ) . ( ( '.' === $dir || '' === $dir ) ? '' : '/' . implode( '/', array_map( 'rawurlencode', explode( '/', $dir ) ) ) );
		$type    = wp_check_filetype( wp_basename( $meta['file'] ) );
		$files   = array(
			'full' => array(
				'file'      => wp_basename( $meta['file'] ),
				'width'     => isset( $meta['width'] ) ? (int) $meta['width'] : 0,
				'height'    => isset( $meta['height'] ) ? (int) $meta['height'] : 0,
				'mime-type' => $type['type'] ? $type['type'] : get_post_mime_type( $attachment_id ),
			),
		);
		if ( ! empty( $meta['sizes'] ) && is_array( $meta['sizes'] ) ) {
			$files = array_merge( $files, $meta['sizes'] );
		}
		$lines       = array();
		$differences = 0;
		foreach ( $files as $name => $expected ) {
			$url   = $base . '/' . rawurlencode( (string) $expected['file'] );
			$diffs = self::compare( $url, $expected );
			if ( $diffs ) {
				++$differences;
			}
			$lines[] = sprintf(
				'%-4s %-14s %s%s',
				$diffs ? 'DIFF' : 'ok',
				$name,
				$url,
				$diffs ? ': ' . implode( '; ', $diffs ) : sprintf( ' (%dx%d %s)', $expected['width'], $expected['height'], $expected['mime-type'] )
			);
		}
		$lines[] = sprintf( '%d files checked, %d differ from the metadata', count( $files ), $differences );
		return array(
			'lines'       => $lines,
			'checked'     => count( $files ),
			'differences' => $differences,
		);
	}

	/**
	 * What differs between one file on the worker and its metadata.
	 *
	 * @param string $url      The file's URL on the worker.
	 * @param array  $expected { width, height, mime-type } from the metadata.
	 * @return string[] Differences; empty when the file matches.
	 */
	private static function compare( $url, array $expected ) {
		$response = wp_remote_get(
			$url,
			array(
				'timeout'     => 30,
				'redirection' => 0,
			)
		);
		if ( is_wp_error( $response ) ) {
			return array( 'request failed: ' . $response->get_error_message() );
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		if ( 200 !== $code ) {
			return array( sprintf( 'status %d (expected 200)', $code ) );
		}
		$diffs  = array();
		$mime   = isset( $expected['mime-type'] ) ? (string) $expected['mime-type'] : '';
		$header = strtolower( trim( explode( ';', (string) wp_remote_retrieve_header( $response, 'content-type' ) )[0] ) );
		if ( $header !== $mime ) {
			$diffs[] = sprintf( 'Content-Type %s (expected %s)', '' === $header ? 'none' : $header, $mime );
		}
		$info = @getimagesizefromstring( (string) wp_remote_retrieve_body( $response ) ); // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged -- a body that is no image is reported below.
		if ( ! $info ) {
			$diffs[] = 'the body is not an image';
			return $diffs;
		}
		if ( (int) $info[0] !== (int) $expected['width'] || (int) $info[1] !== (int) $expected['height'] ) {
			$diffs[] = sprintf( 'dimensions %dx%d (expected %dx%d)', $info[0], $info[1], $expected['width'], $expected['height'] );
		}
		if ( $info['mime'] !== $mime ) {
			$diffs[] = sprintf( 'decoded type %s (expected %s)', $info['mime'], $mime );
		}
		return $diffs;
	}

	/**
	 * Fetch the placeholder fields of an attachment now.
	 *
	 * @param int $attachment_id Attachment.
	 * @return array|WP_Error The fields stored ({dominant_color?, has_transparency?}).
	 */
	public static function placeholders( $attachment_id ) {
		$result = WP_Edge_Images_Placeholders::retry( (int) $attachment_id );
		if ( is_wp_error( $result ) ) {
			return $result;
		}
		$meta = wp_get_attachment_metadata( (int) $attachment_id, true );
		return array_intersect_key( (array) $meta, array_flip( array( 'dominant_color', 'has_transparency' ) ) );
	}

	/**
	 * Run one command for bin/wp-edge-images.php: prints to stdout/stderr, returns the exit code.
	 *
	 * @param string   $command sizes-json, check or placeholders.
	 * @param string[] $args    Positional arguments.
	 * @return int
	 */
	public static function main( $command, array $args ) {
		switch ( $command ) {
			case 'sizes-json':
				echo self::sizes_json() . "\n"; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- JSON on a terminal.
				return 0;
			case 'check':
				if ( empty( $args[0] ) || ! ctype_digit( (string) $args[0] ) ) {
					fwrite( STDERR, "usage: check <attachment-id>\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
					return 2;
				}
				$result = self::check( (int) $args[0] );
				if ( is_wp_error( $result ) ) {
					fwrite( STDERR, 'Error: ' . $result->get_error_message() . "\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
					return 1;
				}
				echo implode( "\n", $result['lines'] ) . "\n"; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- plain text on a terminal.
				return $result['differences'] > 0 ? 1 : 0;
			case 'placeholders':
				if ( empty( $args[0] ) || ! ctype_digit( (string) $args[0] ) ) {
					fwrite( STDERR, "usage: placeholders <attachment-id>\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
					return 2;
				}
				$result = self::placeholders( (int) $args[0] );
				if ( is_wp_error( $result ) ) {
					fwrite( STDERR, 'Error: ' . $result->get_error_message() . "\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
					return 1;
				}
				echo wp_json_encode( (object) $result ) . "\n"; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- JSON on a terminal.
				return 0;
			default:
				fwrite( STDERR, "usage: sizes-json | check <attachment-id> | placeholders <attachment-id>\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
				return 2;
		}
	}
}
