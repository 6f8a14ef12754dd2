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

/** A Lua string literal holding `text` exactly (lua/heartbeat.lua's constants). */
export function luaStringLiteral(text: string): string {
  const escaped = text.replace(/[\\"\n\r\0]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\0' ? '\\0' : `\\${c}`,
  );
  return `"${escaped}"`;
}

/**
 * The heartbeat script for one version of the plans: lua/heartbeat.lua with the plan table, the
 * default plan and the per-user bounds ahead of it as Lua constants. They change only with the
 * plans (or at boot), so they are part of the script (a new SHA per plan version) instead of
 * arguments: every argument costs Redis CPU on every call (docs/performance.md, "Arguments").
 */
export function heartbeatScript(
  body: string,
  planTable: string,
  defaultPlan: string,
  bounds: UserBounds,
): string {
  return (
    `local PLAN_TABLE, DEFAULT_PLAN = ${luaStringLiteral(planTable)}, ${luaStringLiteral(defaultPlan)}\n` +
    `local MAX_ENTRIES_PER_USER, MAX_SESSIONS_PER_DEVICE = ${bounds.maxEntriesPerUser}, ${bounds.maxSessionsPerDevice}\n` +
    body
  );
}

/**
 * KEYS then ARGV of one heartbeat script call, as lua/heartbeat.lua reads them: the session id
 * and the fast renewal's plan (fastRenewalPlan), which the steady state reads, then everything
 * else in one space-separated argument that only the other paths parse (ids, plan names and the
 * words here never hold a space). Exported so the bench's raw reference and bulk loader call the
 * script exactly as usher does.
 */
export function heartbeatScriptArgs(
  prefix: string,
  input: HeartbeatInput,
  fast?: Plan,
): (string | number)[] {
  const rest = `${input.release ? 'release' : 'request'} ${DRM_LETTER[input.drm]} ${input.deviceId ?? ''} ${input.contentId ?? ''} ${input.plan ?? ''} ${input.persistent ? 'persistent' : ''} ${input.takeoverSessionId ?? ''}`;
  return [
    ...scriptKeys(userKeys(prefix, input.userId)),
    input.sessionId,
    fast ? (fast.renewalIntervalSeconds + fast.graceSeconds) * 1000 : '',
    fast ? fast.maxStreams : '',
    rest,
  ];
}
