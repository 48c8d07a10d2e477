/**
 * A Transport implementation for web browsers.
 * @packageDocumentation
 */
export * from "./transport.js";
export * from "./transport-options.js";
