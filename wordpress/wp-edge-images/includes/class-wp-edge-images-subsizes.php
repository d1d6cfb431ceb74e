<?php
/**
 * Uploads write only the full-size file; the metadata still lists every size.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * Hooks that keep WordPress from writing registered sub-sizes while recording
 * them in the attachment metadata exactly as WordPress would.
 */
class WP_Edge_Images_Subsizes {

	/**
	 * Per attachment being created: the sizes WordPress was going to make, in
	 * its order, and which of them this plugin records instead.
	 *
	 * @var array<int, array{sizes: array, virtual: array}>
	 */
	private static $pending = array();

	/**
	 * Hook in. Nothing is held back while no worker origin is configured.
	 */
	public static function register() {
		// Last, so every other filter's sizes are seen and only the worker's are held back.
		add_filter( 'intermediate_image_sizes_advanced', array( __CLASS__, 'hold_back_sizes' ), PHP_INT_MAX, 3 );
		// Early, so later filters (offload plugins, Image Placeholders) see the sizes.
		add_filter( 'wp_generate_attachment_metadata', array( __CLASS__, 'record_sizes' ), 5, 3 );
		add_filter( 'wp_image_editors', array( __CLASS__, 'editors' ) );
		// WordPress 7.1 can resize in the browser and upload the sizes; keep it server-side.
		add_filter( 'wp_client_side_media_processing_enabled', '__return_false' );
	}

	/**
	 * Our editors in place of WordPress's GD and Imagick editors (same order).
	 *
	 * @param string[] $editors Editor class names, preferred first.
	 * @return string[]
	 */
	public static function editors( $editors ) {
		if ( ! WP_Edge_Images_Config::enabled() ) {
			return $editors; // No worker to make the sizes: WordPress writes them.
		}
		require_once __DIR__ . '/class-wp-edge-images-editor-gd.php';
		require_once __DIR__ . '/class-wp-edge-images-editor-imagick.php';
		$ours = array(
			'WP_Image_Editor_GD'      => 'WP_Edge_Images_Editor_GD',
			'WP_Image_Editor_Imagick' => 'WP_Edge_Images_Editor_Imagick',
		);
		return array_map(
			static function ( $editor ) use ( $ours ) {
				return isset( $ours[ $editor ] ) ? $ours[ $editor ] : $editor;
			},
			(array) $editors
		);
	}

	/**
	 * `intermediate_image_sizes_advanced`: keep back the registered sizes (the
	 * worker makes them), leave any other size to WordPress.
	 *
	 * @param array $new_sizes     Size name => { width, height, crop }.
	 * @param array $image_meta    The upload's metadata so far.
	 * @param int   $attachment_id Attachment being created.
	 * @return array Sizes WordPress should still write (normally none).
	 */
	public static function hold_back_sizes( $new_sizes, $image_meta = array(), $attachment_id = 0 ) {
		if ( ! is_array( $new_sizes ) || ! $attachment_id || ! WP_Edge_Images_Config::enabled() ) {
			return $new_sizes;
		}
		$virtual = array();
		$rest    = array();
		foreach ( $new_sizes as $name => $size_data ) {
			if ( self::is_registered_size( $size_data ) ) {
				$virtual[ $name ] = $size_data;
			} else {
				$rest[ $name ] = $size_data;
			}
		}
		self::$pending[ (int) $attachment_id ] = array(
			'sizes'   => $new_sizes,
			'virtual' => $virtual,
		);
		return $rest;
	}

	/**
	 * `wp_generate_attachment_metadata`: add the sizes held back, in the order
	 * WordPress makes them (medium, large, thumbnail, medium_large, then the
	 * rest as registered).
	 *
	 * @param array  $metadata      Attachment metadata.
	 * @param int    $attachment_id Attachment.
	 * @param string $context       'create' or 'update'.
	 * @return array
	 */
	public static function record_sizes( $metadata, $attachment_id = 0, $context = 'create' ) {
		$attachment_id = (int) $attachment_id;
		if ( ! isset( self::$pending[ $attachment_id ] ) ) {
			return $metadata;
		}
		$pending = self::$pending[ $attachment_id ];
		unset( self::$pending[ $attachment_id ] );
		if ( ! is_array( $metadata ) || empty( $metadata['file'] ) || empty( $pending['virtual'] ) ) {
			return $metadata;
		}
		$original = self::original_path( $attachment_id, $metadata );
		$made     = self::sizes_for_file( $original, $pending['virtual'] );
		$existing = isset( $metadata['sizes'] ) && is_array( $metadata['sizes'] ) ? $metadata['sizes'] : array();

		// WordPress's order of making sizes (see _wp_make_subsizes()).
		$order = array_keys(
			array_filter(
				array_merge(
					array(
						'medium'       => null,
						'large'        => null,
						'thumbnail'    => null,
						'medium_large' => null,
					),
					$pending['sizes']
				)
			)
		);
		$sizes = array_diff_key( $existing, array_flip( $order ) );
		foreach ( $order as $name ) {
			if ( isset( $existing[ $name ] ) ) {
				$sizes[ $name ] = $existing[ $name ];
			} elseif ( isset( $made[ $name ] ) ) {
				$sizes[ $name ] = $made[ $name ];
			}
		}
		$metadata['sizes'] = $sizes;
		return $metadata;
	}

	/**
	 * The metadata WordPress would record for these sizes of an image file,
	 * computed without decoding it.
	 *
	 * @param string $file  Absolute path of the upload (not its -scaled copy).
	 * @param array  $sizes Size name => { width, height, crop }.
	 * @return array Size name => { file, width, height, mime-type }.
	 */
	public static function sizes_for_file( $file, array $sizes ) {
		$editor = self::editor_for( $file );
		if ( ! $editor ) {
			return array();
		}
		$out = array();
		foreach ( $sizes as $name => $size_data ) {
			$meta = $editor->virtual_subsize( $size_data );
			if ( ! is_wp_error( $meta ) ) {
				$out[ $name ] = $meta;
			}
		}
		return $out;
	}

	/**
	 * Whether a size is one of the site's registered sizes (same width, height
	 * and crop), i.e. one the worker makes.
	 *
	 * @param array $size_data { width, height, crop }.
	 * @return bool
	 */
	public static function is_registered_size( $size_data ) {
		if ( ! is_array( $size_data ) ) {
			return false;
		}
		$wanted = self::normalize_size( $size_data );
		foreach ( wp_get_registered_image_subsizes() as $registered ) {
			if ( self::normalize_size( $registered ) === $wanted ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * How the worker's IMAGE_SIZES (as its status route reports them) differ from this site's registered sizes.
	 *
	 * @param array $worker Size name => { width, height, crop }.
	 * @return array{missing: string[], different: string[], extra: string[]} Names absent on the worker, registered differently there, and only there.
	 */
	public static function compare_with_worker( array $worker ) {
		$site = wp_get_registered_image_subsizes();
		$diff = array(
			'missing'   => array(),
			'different' => array(),
			'extra'     => array_values( array_map( 'strval', array_keys( array_diff_key( $worker, $site ) ) ) ),
		);
		foreach ( $site as $name => $size_data ) {
			if ( ! isset( $worker[ $name ] ) || ! is_array( $worker[ $name ] ) ) {
				$diff['missing'][] = (string) $name;
			} elseif ( self::normalize_size( $worker[ $name ] ) !== self::normalize_size( $size_data ) ) {
				$diff['different'][] = (string) $name;
			}
		}
		return $diff;
	}

	/**
	 * Width, height and crop in one comparable form.
	 *
	 * @param array $size_data { width, height, crop }.
	 * @return array
	 */
	private static function normalize_size( array $size_data ) {
		$crop = isset( $size_data['crop'] ) ? $size_data['crop'] : false;
		if ( is_array( $crop ) ) {
			$crop = array_values( $crop );
		} else {
			$crop = (bool) $crop;
		}
		return array(
			isset( $size_data['width'] ) ? (int) $size_data['width'] : 0,
			isset( $size_data['height'] ) ? (int) $size_data['height'] : 0,
			$crop,
		);
	}

	/**
	 * The uploaded file itself: the attachment's file, or the one its -scaled/-rotated copy was made from.
	 *
	 * @param int   $attachment_id Attachment.
	 * @param array $metadata      Its metadata.
	 * @return string
	 */
	private static function original_path( $attachment_id, array $metadata ) {
		$attached = get_attached_file( $attachment_id, true );
		if ( ! $attached ) {
			$uploads  = wp_get_upload_dir();
			$attached = trailingslashit( $uploads['basedir'] ) . $metadata['file'];
		}
		if ( ! empty( $metadata['original_image'] ) ) {
			return trailingslashit( dirname( $attached ) ) . wp_basename( $metadata['original_image'] );
		}
		return $attached;
	}

	/**
	 * One of our editors, primed with the file's size and type (nothing decoded).
	 *
	 * @param string $file Image file.
	 * @return WP_Edge_Images_Editor_GD|WP_Edge_Images_Editor_Imagick|null
	 */
	private static function editor_for( $file ) {
		$size = $file ? wp_getimagesize( $file ) : false;
		if ( empty( $size ) || empty( $size['mime'] ) ) {
			return null;
		}
		$mime = $size['mime'];
		// The editor WordPress would pick for this type; ours when it is GD or Imagick.
		$class = _wp_image_editor_choose( array( 'mime_type' => $mime ) );
		if ( ! $class || ! method_exists( $class, 'virtual_subsize' ) ) {
			// Another plugin's editor was chosen: ours still name the files as WordPress does.
			require_once __DIR__ . '/class-wp-edge-images-editor-gd.php';
			require_once __DIR__ . '/class-wp-edge-images-editor-imagick.php';
			$class = null;
			foreach ( array( 'WP_Edge_Images_Editor_Imagick', 'WP_Edge_Images_Editor_GD' ) as $candidate ) {
				if ( class_exists( $candidate ) && call_user_func( array( $candidate, 'test' ), array( 'mime_type' => $mime ) ) && call_user_func( array( $candidate, 'supports_mime_type' ), $mime ) ) {
					$class = $candidate;
					break;
				}
			}
			if ( ! $class ) {
				return null;
			}
		}
		$editor = new $class( $file );
		return $editor->prime( (int) $size[0], (int) $size[1], $mime );
	}
}
