import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { TokenBook } from '../../src/auth/token-book';
import { AppConfig } from '../../src/config/app-config';

const book = (licenseServerTokens: string[], adminTokens: string[]) =>
  new TokenBook({ licenseServerTokens, adminTokens } as unknown as AppConfig);

describe('TokenBook', () => {
  const tokens = book(['ls-token'], ['admin-token']);

  it('names the caller of a known token, the same on every later request', () => {
    const first = tokens.admit('Bearer ls-token', 'license-server');
    expect(first).toEqual({ role: 'license-server', tokenFingerprint: expect.any(String) });
    expect(first.tokenFingerprint).toHaveLength(12);
    expect(tokens.admit('Bearer ls-token', 'license-server')).toEqual(first);
    expect(tokens.admit('bearer   ls-token ', 'license-server')).toEqual(first);
  });

  it('401 without a bearer token or with an unknown one, however often it is tried', () => {
    for (let i = 0; i < 3; i++) {
      expect(() => tokens.admit(undefined, 'license-server')).toThrow(UnauthorizedException);
      expect(() => tokens.admit('Basic ls-token', 'license-server')).toThrow(UnauthorizedException);
      expect(() => tokens.admit('Bearer ls-tokenX', 'license-server')).toThrow(
        UnauthorizedException,
      );
      expect(() => tokens.admit(['Bearer ls-token'], 'license-server')).toThrow(
        UnauthorizedException,
      );
    }
  });

  it('403 for a token of another role, also once its header is remembered', () => {
    expect(tokens.admit('Bearer admin-token', 'admin').role).toBe('admin');
    for (let i = 0; i < 2; i++) {
      expect(() => tokens.admit('Bearer admin-token', 'license-server')).toThrow(
        ForbiddenException,
      );
      expect(() => tokens.admit('Bearer ls-token', 'admin')).toThrow(ForbiddenException);
      expect(() => tokens.admit('Bearer ls-token', undefined)).toThrow(ForbiddenException);
    }
  });

  it('keeps answering once more header spellings than it remembers were seen', () => {
    for (let i = 0; i < 300; i++) {
      expect(tokens.admit(`Bearer${' '.repeat(1 + i)}ls-token`, 'license-server').role).toBe(
        'license-server',
      );
    }
    expect(() => tokens.admit('Bearer nope', 'license-server')).toThrow(UnauthorizedException);
  });

  it('is open, with a warning elsewhere, when no token is configured', () => {
    expect(book([], []).admit(undefined, 'admin')).toEqual({
      role: 'open',
      tokenFingerprint: 'none',
    });
  });
});
