// Public surface of the pure PostgreSQL wire codec.
export * from './message-codes.js';
export * from './protocol-error.js';
export * from './frame-reader.js';
export * from './frontend-messages.js';
export * from './backend-messages.js';
export * as encode from './encode.js';
export * from './scram-client.js';
