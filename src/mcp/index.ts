/**
 * biencoder/mcp: the MCP server over collections (needs @modelcontextprotocol/sdk). `biencoder mcp` serves it
 * over stdio and `biencoder serve` at /mcp; createMcpServer gives it to your own transport.
 */
export { createMcpServer, type McpCollections, type McpServerOptions } from './mcp-server.ts';
