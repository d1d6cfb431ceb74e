<?php
/**
 * HTTP calls to the worker: purge, status and size table.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * A thin client for the worker's routes.
 */
class WP_Edge_Images_Worker {

	/** Seconds a purge may take before it counts as failed (and is retried by WP-Cron). */
	const PURGE_TIMEOUT = 3;

	/** The worker takes at most this many `images` per purge request. */
	const PURGE_BATCH = 100;

	/**
	 * POST {origin}/_admin/purge with {"images": [...]}.
	 *
	 * @param string[] $keys Upload keys such as `2025/09/photo.jpeg`.
	 * @return true|WP_Error
	 */
	public static function purge( array $keys ) {
		$keys = array_values( array_unique( array_filter( array_map( 'strval', $keys ) ) ) );
		if ( empty( $keys ) ) {
			return true;
		}
		if ( ! WP_Edge_Images_Config::enabled() ) {
			return new WP_Error( 'wp_edge_images_no_origin', __( 'No worker origin is configured.', 'wp-edge-images' ) );
		}
		$token = WP_Edge_Images_Config::token();
		if ( '' === $token ) {
			return new WP_Error( 'wp_edge_images_no_token', __( 'WP_EDGE_IMAGES_ADMIN_TOKEN is not defined in wp-config.php.', 'wp-edge-images' ) );
		}
		foreach ( array_chunk( $keys, self::PURGE_BATCH ) as $batch ) {
			$response = wp_remote_post(
				self::admin_url( 'purge' ),
				array(
					'timeout' => self::PURGE_TIMEOUT,
					'headers' => array(
						'Authorization' => 'Bearer ' . $token,
						'Content-Type'  => 'application/json',
					),
					'body'    => wp_json_encode( array( 'images' => $batch ) ),
				)
			);
			if ( is_wp_error( $response ) ) {
				return $response;
			}
			$code = (int) wp_remote_retrieve_response_code( $response );
			if ( 200 !== $code ) {
				return new WP_Error(
					'wp_edge_images_purge_failed',
					sprintf(
						/* translators: 1: HTTP status code, 2: response body */
						__( 'The worker answered %1$d: %2$s', 'wp-edge-images' ),
						$code,
						substr( (string) wp_remote_retrieve_body( $response ), 0, 300 )
					)
				);
			}
		}
		return true;
	}

	/**
	 * GET {origin}/_admin/status.
	 *
	 * @return array{code:int,body:string}|WP_Error
	 */
	public static function status() {
		if ( ! WP_Edge_Images_Config::enabled() ) {
			return new WP_Error( 'wp_edge_images_no_origin', __( 'No worker origin is configured.', 'wp-edge-images' ) );
		}
		$token = WP_Edge_Images_Config::token();
		if ( '' === $token ) {
			return new WP_Error( 'wp_edge_images_no_token', __( 'WP_EDGE_IMAGES_ADMIN_TOKEN is not defined in wp-config.php.', 'wp-edge-images' ) );
		}
		$response = wp_remote_get(
			self::admin_url( 'status' ),
			array(
				'timeout' => 5,
				'headers' => array( 'Authorization' => 'Bearer ' . $token ),
			)
		);
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		return array(
			'code' => (int) wp_remote_retrieve_response_code( $response ),
			'body' => (string) wp_remote_retrieve_body( $response ),
		);
	}

	/**
	 * GET {origin}/_sizes/<key>: the worker's size table for an upload, decoded.
	 *
	 * @param string $key Upload key (or its -scaled/-rotated copy's).
	 * @param int    $timeout Seconds.
	 * @return array|WP_Error
	 */
	public static function size_table( $key, $timeout = 3 ) {
		if ( ! WP_Edge_Images_Config::enabled() ) {
			return new WP_Error( 'wp_edge_images_no_origin', __( 'No worker origin is configured.', 'wp-edge-images' ) );
		}
		$path     = implode( '/', array_map( 'rawurlencode', explode( '/', $key ) ) );
		$sizes    = defined( 'WP_EDGE_IMAGES_SIZES_PATH' ) ? '/' . trim( (string) WP_EDGE_IMAGES_SIZES_PATH, '/' ) : '/_sizes';
		$response = wp_remote_get( WP_Edge_Images_Config::origin() . $sizes . '/' . $path, array( 'timeout' => $timeout ) );
		if ( is_wp_error( $response ) ) {
			return $response;
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		if ( 200 !== $code ) {
			return new WP_Error( 'wp_edge_images_size_table', sprintf( 'size table: HTTP %d', $code ), array( 'status' => $code ) );
		}
		$table = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		return is_array( $table ) ? $table : new WP_Error( 'wp_edge_images_size_table', 'size table: not JSON' );
	}

	/**
	 * URL of an admin route (ADMIN_PATH `/_admin` unless WP_EDGE_IMAGES_ADMIN_PATH says otherwise).
	 *
	 * @param string $route `purge` or `status`.
	 * @return string
	 */
	private static function admin_url( $route ) {
		$admin = defined( 'WP_EDGE_IMAGES_ADMIN_PATH' ) ? '/' . trim( (string) WP_EDGE_IMAGES_ADMIN_PATH, '/' ) : '/_admin';
		return WP_Edge_Images_Config::origin() . $admin . '/' . $route;
	}
}
