// What an engine is told while an action waits for a person's approval, so the client hears it in
// its own protocol (a PostgreSQL NoticeResponse, an HTTP response header). Protocol-neutral: the
// approval service fills it in; engines only render it. Never carries a credential.

/** The moment an approval request is tied to an action (docs/approvals.md). */
export interface HeldNotice {
  readonly requestId: string;
  /** The approval page, where an approver decides. */
  readonly url: string;
  /**
   * `hold`: the client is held until a decision or the timeout (an `onHoldSettled` follows).
   * `defer`: the action is refused at once and runs when sent again after approval (nothing follows).
   */
  readonly mode: 'hold' | 'defer';
  /** The approval rule (`approvals.rules`) that decides it. */
  readonly approvalRule: string;
  /** The policy rule that asked for review. */
  readonly policyRule: string;
  /** Groups whose members may approve. */
  readonly approverGroups: readonly string[];
  /** The longest the client will be held (ms; 0 in defer mode). An engine may hold less. */
  readonly waitMs: number;
  /** When the request expires if nobody decides. */
  readonly expiresAt: Date;
  /** One line for a person or a model, naming the request, the URL, the rule and the wait. */
  readonly message: string;
}

/** The end of a hold: what was decided, by whom. Only after a `HeldNotice` in `hold` mode. */
export interface HoldSettledNotice {
  readonly requestId: string;
  readonly url: string;
  readonly outcome: 'approved' | 'denied' | 'expired' | 'withdrawn';
  /** Who decided (approved or denied). */
  readonly by?: string;
  readonly comment?: string;
  /** One line for a person or a model. */
  readonly message: string;
}

/** Where an engine hears about holds; both callbacks are optional and must not throw. */
export interface HoldListener {
  readonly onHeld?: (notice: HeldNotice) => void;
  readonly onHoldSettled?: (notice: HoldSettledNotice) => void;
}
