import { join } from 'node:path';
import { Plan } from '../config/plan';
import { RedisClient } from '../redis/redis-connection';
import { loadLuaScript } from './lua-script';
import { DRM_LETTER } from './session-identity';
import { scriptKeys, userKeys } from '../redis/user-keys';
import { HeartbeatInput, StoreDecision } from './session-types';

/*
 * The per-user scripts (lua/*.lua) and how a heartbeat calls one: its KEYS and ARGV, and the fast
 * renewal's short answer. The bench's raw reference and bulk loader use these too.
 */

export const SCRIPTS = {
  usherHeartbeat: 'heartbeat',
  usherUserSessions: 'user-sessions',
  usherTerminate: 'terminate',
  usherEndDownload: 'end-download',
  usherUserDevices: 'user-devices',
  usherForgetDevice: 'forget-device',
} as const;
export type ScriptName = keyof typeof SCRIPTS;
/** A client's commands for the scripts, once defineCommand has added them. */
export type ScriptCalls = Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;
/** What a client needs to run the scripts: a place to define them. */
export type ScriptHost = Pick<RedisClient, 'defineCommand'>;

/** The per-user scripts' text, includes resolved (lua/*.lua, built into dist/ beside this file). */
export function loadSessionScripts(): Record<ScriptName, string> {
  const dir = join(__dirname, 'lua');
  return Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, file]) => [name, loadLuaScript(dir, file)]),
  ) as Record<ScriptName, string>;
}

/** Every per-user script gets the same KEYS (scriptKeys). */
export const SCRIPT_KEY_COUNT = scriptKeys(userKeys('', '')).length;

/** The per-user bounds every writing script enforces (docs/architecture.md, "Bounds"). */
export interface UserBounds {
  maxEntriesPerUser: number;
  maxSessionsPerDevice: number;
}

/**
 * The plan a heartbeat may renew under in the script's fast path: a streaming renewal or
 * request (not a release, a download or a takeover) of a plan counted by session that applies
 * no rollout control a renewal must see (shadow answers, device registrations). The script takes
 * the fast path only when the user has no override (its no-override marker, lua/marker.lua), so
 * this plan is then the policy in force.
 */
export function fastRenewalPlan(input: HeartbeatInput, plan: Plan): Plan | undefined {
  const plain =
    plan.countBy === 'session' && plan.enforcement !== 'shadow' && plan.maxDevices === undefined;
  return input.release || input.persistent || input.takeoverSessionId || !plain ? undefined : plan;
}

/** A fast renewal's answer, completed from the plan the script renewed under. */
export function fastRenewal(plan: Plan, activeStreams: number): StoreDecision {
  return {
    decision: 'allow',
    reason: 'renewed',
    plan: plan.name,
    countBy: plan.countBy,
    maxStreams: plan.maxStreams,
    activeStreams,
    renewalIntervalSeconds: plan.renewalIntervalSeconds,
    graceSeconds: plan.graceSeconds,
    sessions: [],
  };
}

/**
 * KEYS then ARGV of one heartbeat script call, as lua/heartbeat.lua reads them. `fast` is the
 * plan of the fast renewal (fastRenewalPlan), if any. Exported so the bench's raw reference and
 * bulk loader call the script exactly as usher does.
 */
export function heartbeatScriptArgs(
  prefix: string,
  input: HeartbeatInput,
  defaultPlan: string,
  planTable: string,
  bounds: UserBounds,
  fast?: Plan,
): (string | number)[] {
  return [
    ...scriptKeys(userKeys(prefix, input.userId)),
    input.release ? 'release' : 'request',
    input.sessionId,
    input.deviceId ?? '',
    DRM_LETTER[input.drm],
    input.contentId ?? '',
    input.plan ?? '',
    defaultPlan,
    planTable,
    bounds.maxEntriesPerUser,
    bounds.maxSessionsPerDevice,
    input.persistent ? 'persistent' : '',
    input.takeoverSessionId ?? '',
    fast ? (fast.renewalIntervalSeconds + fast.graceSeconds) * 1000 : '',
    fast ? fast.maxStreams : '',
  ];
}
