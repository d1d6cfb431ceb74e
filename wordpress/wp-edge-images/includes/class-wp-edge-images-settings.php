<?php
/**
 * Settings → Edge Images: worker origin and mount path, and the worker's status.
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

/**
 * A small settings page. Constants in wp-config.php win over the form; the
 * admin token is never stored in the database, only read from
 * WP_EDGE_IMAGES_ADMIN_TOKEN.
 */
class WP_Edge_Images_Settings {

	const PAGE = 'wp-edge-images';

	/**
	 * Hook in.
	 */
	public static function register() {
		add_action( 'admin_init', array( __CLASS__, 'register_settings' ) );
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
	}

	/**
	 * The two options and their sanitizers.
	 */
	public static function register_settings() {
		register_setting(
			self::PAGE,
			WP_Edge_Images_Config::OPTION_ORIGIN,
			array(
				'type'              => 'string',
				'default'           => '',
				'sanitize_callback' => array( 'WP_Edge_Images_Config', 'normalize_origin' ),
			)
		);
		register_setting(
			self::PAGE,
			WP_Edge_Images_Config::OPTION_MOUNT,
			array(
				'type'              => 'string',
				'default'           => WP_Edge_Images_Config::DEFAULT_MOUNT,
				'sanitize_callback' => array( 'WP_Edge_Images_Config', 'normalize_mount' ),
			)
		);
	}

	/**
	 * Settings → Edge Images.
	 */
	public static function menu() {
		add_options_page(
			__( 'Edge Images', 'wp-edge-images' ),
			__( 'Edge Images', 'wp-edge-images' ),
			'manage_options',
			self::PAGE,
			array( __CLASS__, 'render' )
		);
	}

	/**
	 * The page: the form, then the status box.
	 */
	public static function render() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$origin_fixed = defined( 'WP_EDGE_IMAGES_ORIGIN' );
		$mount_fixed  = defined( 'WP_EDGE_IMAGES_MOUNT' );
		?>
		<div class="wrap">
			<h1><?php esc_html_e( 'Edge Images', 'wp-edge-images' ); ?></h1>
			<form method="post" action="options.php">
				<?php settings_fields( self::PAGE ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="wp-edge-images-origin"><?php esc_html_e( 'Worker origin', 'wp-edge-images' ); ?></label></th>
						<td>
							<input type="url" class="regular-text" id="wp-edge-images-origin" name="<?php echo esc_attr( WP_Edge_Images_Config::OPTION_ORIGIN ); ?>" value="<?php echo esc_attr( WP_Edge_Images_Config::origin() ); ?>" placeholder="https://img.example.com" <?php disabled( $origin_fixed ); ?> />
							<p class="description"><?php echo $origin_fixed ? esc_html__( 'Set by WP_EDGE_IMAGES_ORIGIN in wp-config.php.', 'wp-edge-images' ) : esc_html__( 'Scheme and host of the worker, no path. Empty: upload URLs stay on this site.', 'wp-edge-images' ); ?></p>
						</td>
					</tr>
					<tr>
						<th scope="row"><label for="wp-edge-images-mount"><?php esc_html_e( 'Mount path', 'wp-edge-images' ); ?></label></th>
						<td>
							<input type="text" class="regular-text" id="wp-edge-images-mount" name="<?php echo esc_attr( WP_Edge_Images_Config::OPTION_MOUNT ); ?>" value="<?php echo esc_attr( WP_Edge_Images_Config::mount() ); ?>" <?php disabled( $mount_fixed ); ?> />
							<p class="description"><?php echo $mount_fixed ? esc_html__( 'Set by WP_EDGE_IMAGES_MOUNT in wp-config.php.', 'wp-edge-images' ) : esc_html__( 'The worker\'s MOUNT_PATH.', 'wp-edge-images' ); ?></p>
						</td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Admin token', 'wp-edge-images' ); ?></th>
						<td><?php echo '' !== WP_Edge_Images_Config::token() ? esc_html__( 'WP_EDGE_IMAGES_ADMIN_TOKEN is defined in wp-config.php.', 'wp-edge-images' ) : esc_html__( 'Not set: define WP_EDGE_IMAGES_ADMIN_TOKEN in wp-config.php (the worker\'s ADMIN_TOKEN) to purge and to see the status.', 'wp-edge-images' ); ?></td>
					</tr>
				</table>
				<?php
				if ( ! ( $origin_fixed && $mount_fixed ) ) {
					submit_button();
				}
				?>
			</form>
			<h2><?php esc_html_e( 'Worker status', 'wp-edge-images' ); ?></h2>
			<?php self::render_status(); ?>
		</div>
		<?php
	}

	/**
	 * Whether the worker makes the sizes this site registers.
	 *
	 * @param array $worker_sizes The worker's IMAGE_SIZES, from its status.
	 */
	private static function render_sizes_match( array $worker_sizes ) {
		$diff = WP_Edge_Images_Subsizes::compare_with_worker( $worker_sizes );
		if ( ! $diff['missing'] && ! $diff['different'] && ! $diff['extra'] ) {
			printf( '<div class="notice notice-success inline" id="wp-edge-images-sizes-match"><p>%s</p></div>', esc_html__( 'The worker\'s IMAGE_SIZES match the sizes this site registers.', 'wp-edge-images' ) );
			return;
		}
		$parts = array();
		if ( $diff['missing'] ) {
			/* translators: %s: size names */
			$parts[] = sprintf( __( 'not on the worker: %s', 'wp-edge-images' ), implode( ', ', $diff['missing'] ) );
		}
		if ( $diff['different'] ) {
			/* translators: %s: size names */
			$parts[] = sprintf( __( 'different there: %s', 'wp-edge-images' ), implode( ', ', $diff['different'] ) );
		}
		if ( $diff['extra'] ) {
			/* translators: %s: size names */
			$parts[] = sprintf( __( 'only on the worker: %s', 'wp-edge-images' ), implode( ', ', $diff['extra'] ) );
		}
		printf(
			'<div class="notice notice-warning inline" id="wp-edge-images-sizes-match"><p>%s</p></div>',
			esc_html(
				sprintf(
					/* translators: %s: list of differences */
					__( 'The worker\'s IMAGE_SIZES differ from the sizes this site registers (%s): set IMAGE_SIZES to the output of `wp edge-images sizes-json`, or sizes will be missing.', 'wp-edge-images' ),
					implode( '; ', $parts )
				)
			)
		);
	}

	/**
	 * GET /_admin/status and show what came back.
	 */
	private static function render_status() {
		$status = WP_Edge_Images_Worker::status();
		if ( is_wp_error( $status ) ) {
			printf( '<div class="notice notice-error inline"><p>%s</p></div>', esc_html( $status->get_error_message() ) );
			return;
		}
		$decoded = json_decode( $status['body'], true );
		$body    = is_array( $decoded ) ? wp_json_encode( $decoded, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES ) : $status['body'];
		if ( isset( $decoded['config']['sizes'] ) && is_array( $decoded['config']['sizes'] ) ) {
			self::render_sizes_match( $decoded['config']['sizes'] );
		}
		printf(
			'<div class="notice %1$s inline"><p>%2$s</p></div><pre id="wp-edge-images-status" style="max-height:30em;overflow:auto;background:#fff;padding:1em">%3$s</pre>',
			200 === $status['code'] ? 'notice-success' : 'notice-error',
			esc_html(
				sprintf(
					/* translators: 1: URL, 2: HTTP status */
					__( '%1$s answered HTTP %2$d.', 'wp-edge-images' ),
					WP_Edge_Images_Config::origin() . '/_admin/status',
					$status['code']
				)
			),
			esc_html( substr( (string) $body, 0, 20000 ) )
		);
	}
}
