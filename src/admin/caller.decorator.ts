import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Caller, RequestWithCaller } from '../auth/roles';

/** The caller the TokenGuard identified (role and token fingerprint), for the audit log. */
export const CallerOf = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller =>
    context.switchToHttp().getRequest<RequestWithCaller>().caller ?? {
      role: 'open',
      tokenFingerprint: 'none',
    },
);
