"""napari contributions (reader, widgets, sample data). The only package that touches Qt."""
