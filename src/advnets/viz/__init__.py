"""Pictures of samples. Nothing here is called from inside the training step itself."""

from advnets.viz.grid import image_grid, save_image, save_image_grid, save_progress_image, to_uint8

__all__ = ["image_grid", "save_image", "save_image_grid", "save_progress_image", "to_uint8"]
