// The MCP SDK, in one place: the build makes this a bundle of its own (dist/mcp-sdk.cjs), loaded
// only by `guild-fs mcp`, so that the CLI's other commands never parse it.
export { Server } from '@modelcontextprotocol/sdk/server/index.js';
export { CallToolRequestSchema, InitializeRequestSchema, JSONRPCMessageSchema, ListToolsRequestSchema, PingRequestSchema } from '@modelcontextprotocol/sdk/types.js';
