// Raised by the codec for malformed input. A partial frame is never an error; a malformed one is.
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    message: string,
    /** True when the input exceeded a configured size limit rather than being malformed. */
    readonly limit = false,
  ) {
    super(message);
  }
}
