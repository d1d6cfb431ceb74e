<?php
/**
 * Sub-sizes recorded but not written, for editors that extend WordPress's own.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * `make_subsize()`/`multi_resize()` that return the metadata WordPress would
 * record for a registered size (the worker makes the file on request) without
 * resizing or writing anything. Dimensions come from WordPress's own
 * `image_resize_dimensions()` on the editor's current size, file name and type
 * from the editor's own `get_output_format()`/`generate_filename()` (so the
 * `image_editor_output_format` mapping applies). Sizes that no registered size
 * produces (e.g. the Site Icon's) are made by the parent editor as usual.
 */
trait WP_Edge_Images_Virtual_Subsizes {

	/**
	 * Set the size and type of an image without loading it, as if `load()` and
	 * `maybe_exif_rotate()` had run: a 90° EXIF orientation swaps the sides.
	 *
	 * @param int    $width     Stored width of the file in pixels.
	 * @param int    $height    Stored height of the file in pixels.
	 * @param string $mime_type The file's type.
	 * @return $this
	 */
	public function prime( $width, $height, $mime_type ) {
		$this->mime_type = $mime_type;
		$orientation     = null;
		if ( is_callable( 'exif_read_data' ) && 'image/jpeg' === $mime_type ) {
			// Same source and filter as WP_Image_Editor::maybe_exif_rotate(); only the header is read.
			$exif = @exif_read_data( $this->file ); // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged -- as core does: broken EXIF is not an error here.
			if ( ! empty( $exif['Orientation'] ) ) {
				$orientation = (int) $exif['Orientation'];
			}
		}
		/** This filter is documented in wp-includes/class-wp-image-editor.php */
		$orientation = apply_filters( 'wp_image_maybe_exif_rotate', $orientation, $this->file );
		if ( in_array( (int) $orientation, array( 5, 6, 7, 8 ), true ) ) {
			$this->size = array(
				'width'  => (int) $height,
				'height' => (int) $width,
			);
		} else {
			$this->size = array(
				'width'  => (int) $width,
				'height' => (int) $height,
			);
		}
		return $this;
	}

	/**
	 * The metadata of one sub-size; written to disk only when no registered size makes it.
	 *
	 * @param array $size_data { width, height, crop } as in wp_get_registered_image_subsizes().
	 * @return array|WP_Error { file, width, height, mime-type }
	 */
	public function make_subsize( $size_data ) {
		if ( ! WP_Edge_Images_Subsizes::is_registered_size( $size_data ) ) {
			return parent::make_subsize( $size_data );
		}
		return $this->virtual_subsize( $size_data );
	}

	/**
	 * Every size's metadata, as the parent's multi_resize() returns it.
	 *
	 * @param array $sizes Size name => { width, height, crop }.
	 * @return array Size name => metadata, for the sizes the image is large enough for.
	 */
	public function multi_resize( $sizes ) {
		$metadata = array();
		foreach ( $sizes as $size => $size_data ) {
			$meta = $this->make_subsize( $size_data );
			if ( ! is_wp_error( $meta ) ) {
				$metadata[ $size ] = $meta;
			}
		}
		return $metadata;
	}

	/**
	 * What the parent's make_subsize() would return for this size, minus `path` and `filesize`.
	 *
	 * @param array $size_data { width, height, crop }.
	 * @return array|WP_Error
	 */
	public function virtual_subsize( $size_data ) {
		if ( ! isset( $size_data['width'] ) && ! isset( $size_data['height'] ) ) {
			return new WP_Error( 'image_subsize_create_error', __( 'Cannot resize the image. Both width and height are not set.', 'wp-edge-images' ) );
		}
		$max_w = isset( $size_data['width'] ) ? $size_data['width'] : null;
		$max_h = isset( $size_data['height'] ) ? $size_data['height'] : null;
		$crop  = isset( $size_data['crop'] ) ? $size_data['crop'] : false;
		$dims  = image_resize_dimensions( $this->size['width'], $this->size['height'], $max_w, $max_h, $crop );
		if ( ! $dims ) {
			return new WP_Error( 'error_getting_dimensions', __( 'Could not calculate resized image dimensions', 'wp-edge-images' ), $this->file );
		}
		$width  = (int) $dims[4];
		$height = (int) $dims[5];
		list( $filename, $extension, $mime_type ) = $this->get_output_format();
		if ( ! $filename ) {
			$filename = $this->generate_filename( "{$width}x{$height}", null, $extension );
		}
		return array(
			/** This filter is documented in wp-includes/class-wp-image-editor-gd.php */
			'file'      => wp_basename( apply_filters( 'image_make_intermediate_size', $filename ) ),
			'width'     => $width,
			'height'    => $height,
			'mime-type' => $mime_type,
		);
	}
}
