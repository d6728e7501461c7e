"""The drop folder: files left in ``DIR/<kind>/`` are imported, then filed with their report."""
