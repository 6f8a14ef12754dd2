import { HeartbeatInput, StoreDecision } from './session-types';

/**
 * What the heartbeat path needs of the session store: the whole decision of one heartbeat, in one
 * call (docs/architecture.md, "The hot path"). It rejects with a StoreError when the store cannot
 * answer in time (the caller applies the fail mode) and with a DeviceRequiredError when the plan
 * needs a deviceId the heartbeat lacks. SessionStore implements it.
 */
export interface HeartbeatStore {
  heartbeat(input: HeartbeatInput): Promise<StoreDecision>;
}

/** The injection token of the HeartbeatStore (bound to SessionStore by SessionsModule). */
export const HEARTBEAT_STORE = Symbol('HeartbeatStore');
