import { SignJWT } from 'jose';

export const PLAYER_JWT_SECRET = 'test-player-token-secret-of-32-bytes!!';

/** A player token as a platform's auth service would issue it (HS256 unless a key is given). */
export async function playerToken(
  claims: Record<string, unknown>,
  options: { secret?: string; expiresIn?: string | number; noExp?: boolean } = {},
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (!options.noExp) jwt.setExpirationTime(options.expiresIn ?? '5m');
  return jwt.sign(new TextEncoder().encode(options.secret ?? PLAYER_JWT_SECRET));
}
