import { SetMetadata } from '@nestjs/common';

export type Role = 'license-server' | 'admin';

export const ROLE_METADATA = 'usher:role';
export const PUBLIC_METADATA = 'usher:public';

/** The token role a route needs (README, "Configuration"): license-server for heartbeats, admin for the admin API. */
export const RequireRole = (role: Role) => SetMetadata(ROLE_METADATA, role);

/** Operations endpoints: no token. */
export const Public = () => SetMetadata(PUBLIC_METADATA, true);

/** Who called, for audit logs: never the token itself. */
export interface Caller {
  role: Role | 'open';
  /** First 12 hex chars of the token's SHA-256: names the token without revealing it. */
  tokenFingerprint: string;
}

export interface RequestWithCaller {
  headers: Record<string, string | string[] | undefined>;
  caller?: Caller;
}
