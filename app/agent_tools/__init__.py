"""The MCP endpoint: every job route as a tool for AI agents, generated from the app's own routes."""
