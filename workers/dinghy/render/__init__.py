"""Dinghy's renderer: dinghyfiles and modules (Go templates) to pipeline JSON, as Dinghy renders them."""

from workers.dinghy.render.renderer import DirectorySource, FileSource, Rendered, Renderer, RenderError

__all__ = ["DirectorySource", "FileSource", "RenderError", "Rendered", "Renderer"]
