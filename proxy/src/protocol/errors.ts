/** A client broke the wire protocol: the proxy ends that client (and only that client). */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly sqlstate: string = '08P01',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
