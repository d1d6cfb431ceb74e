<?php
/**
 * Plugin Name:       WP Edge Images
 * Description:       Serves every image size from the wp-edge-images Cloudflare Worker: uploads write only the full-size file, the attachment metadata still lists every size, upload URLs point at the worker, and changed images are purged from its cache.
 * Version:           0.1.0
 * Requires at least: 5.8
 * Requires PHP:      7.4
 * Author:            wp-edge-images
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       wp-edge-images
 *
 * @package WP_Edge_Images
 */

defined( 'ABSPATH' ) || exit;

define( 'WP_EDGE_IMAGES_VERSION', '0.1.0' );
define( 'WP_EDGE_IMAGES_DIR', __DIR__ );

require_once __DIR__ . '/includes/class-wp-edge-images-config.php';
require_once __DIR__ . '/includes/class-wp-edge-images-worker.php';
require_once __DIR__ . '/includes/class-wp-edge-images-subsizes.php';
require_once __DIR__ . '/includes/class-wp-edge-images-urls.php';
require_once __DIR__ . '/includes/class-wp-edge-images-purge.php';
require_once __DIR__ . '/includes/class-wp-edge-images-placeholders.php';
require_once __DIR__ . '/includes/class-wp-edge-images-commands.php';
require_once __DIR__ . '/includes/class-wp-edge-images-settings.php';

WP_Edge_Images_Subsizes::register();
WP_Edge_Images_Urls::register();
WP_Edge_Images_Purge::register();
WP_Edge_Images_Placeholders::register();
WP_Edge_Images_Settings::register();

if ( defined( 'WP_CLI' ) && WP_CLI ) {
	require_once __DIR__ . '/includes/class-wp-edge-images-cli-command.php';
	WP_CLI::add_command( 'edge-images', 'WP_Edge_Images_CLI_Command' );
}

register_deactivation_hook( __FILE__, array( 'WP_Edge_Images_Purge', 'deactivate' ) );
