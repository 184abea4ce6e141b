"""ToolQA as Gymnasium environments."""
