<?php
/**
 * Deleting the plugin removes its options and scheduled events. Attachment
 * metadata stays: it is what WordPress itself would have recorded.
 *
 * @package WP_Edge_Images
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'wp_edge_images_origin' );
delete_option( 'wp_edge_images_mount' );
delete_option( 'wp_edge_images_purge_queue' );
wp_clear_scheduled_hook( 'wp_edge_images_retry_purge' );
wp_unschedule_hook( 'wp_edge_images_placeholders' );
