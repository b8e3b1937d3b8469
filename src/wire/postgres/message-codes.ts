// PostgreSQL frontend/backend protocol 3.0 message type bytes and startup codes, named after the
// spec: https://www.postgresql.org/docs/current/protocol-message-formats.html (section 55.7).

/** Messages a client (frontend) sends, by type byte. */
export const FrontendCode = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  /** PasswordMessage, SASLInitialResponse and SASLResponse share 'p'. */
  Password: 0x70, // 'p'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;

/**
 * The extended-protocol messages of a batch that ends at Sync: each starts the server's transaction
 * if none is open, and the server answers them only at the batch's Sync or at a Flush.
 */
export const EXTENDED_BATCH_MESSAGES: ReadonlySet<number> = new Set([
  FrontendCode.Parse,
  FrontendCode.Bind,
  FrontendCode.Describe,
  FrontendCode.Execute,
  FrontendCode.Close,
]);

/** Messages a server (backend) sends, by type byte. */
export const BackendCode = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyBothResponse: 0x57, // 'W'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54, // 'T'
} as const;

/** Codes in the int32 after the length of an untyped startup-phase packet (55.7). */
export const StartupCode = {
  /** Protocol 3.0: major 3 in the high 16 bits, minor 0. */
  ProtocolV3: 196608,
  SSLRequest: 80877103,
  GSSENCRequest: 80877104,
  CancelRequest: 80877102,
} as const;

/** AuthenticationXXX sub-codes (int32 after 'R'). */
export const AuthCode = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/** ErrorResponse / NoticeResponse field type bytes (55.8). */
export const ErrorField = {
  Severity: 0x53, // 'S' (localised)
  SeverityV: 0x56, // 'V' (never localised)
  Code: 0x43, // 'C' SQLSTATE
  Message: 0x4d, // 'M'
  Detail: 0x44, // 'D'
  Hint: 0x48, // 'H'
  Position: 0x50, // 'P'
  InternalPosition: 0x70, // 'p'
  InternalQuery: 0x71, // 'q'
  Where: 0x57, // 'W'
  Schema: 0x73, // 's'
  Table: 0x74, // 't'
  Column: 0x63, // 'c'
  DataType: 0x64, // 'd'
  Constraint: 0x6e, // 'n'
  File: 0x46, // 'F'
  Line: 0x4c, // 'L'
  Routine: 0x52, // 'R'
} as const;

/** SQLSTATE codes Gatehouse itself sends (Appendix A). */
export const SqlState = {
  InsufficientPrivilege: '42501',
  InvalidAuthorizationSpecification: '28000',
  InvalidPassword: '28P01',
  ProtocolViolation: '08P01',
  ConnectionFailure: '08006',
  CannotConnectNow: '57P03',
  TooManyConnections: '53300',
  InvalidCatalogName: '3D000',
  ProgramLimitExceeded: '54000',
  QueryCanceled: '57014',
  SyntaxError: '42601',
  InternalError: 'XX000',
  AdminShutdown: '57P01',
  IdleSessionTimeout: '57P05',
  /** transaction_timeout (PostgreSQL 17): a transaction open longer than allowed ends its session. */
  TransactionTimeout: '25P04',
  FeatureNotSupported: '0A000',
  ObjectNotInPrerequisiteState: '55000',
} as const;

/** Transaction status byte in ReadyForQuery. */
export type TransactionStatus = 'I' | 'T' | 'E';
