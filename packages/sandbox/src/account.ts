// The one account of the sandbox.
import type { Account, FindAccount } from 'oidc-provider';

export const DEMO_USER = Object.freeze({
  accountId: 'demo-user',
  name: 'Demo User',
  email: 'demo@keyway.test',
  emailVerified: true,
});

/** Claims grouped by the scope that releases them (oidc-provider filters by granted scope). */
export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['name'],
  email: ['email', 'email_verified'],
} as const;

export const findAccount: FindAccount = (_ctx, sub) => {
  if (sub !== DEMO_USER.accountId) return undefined;
  const account: Account = {
    accountId: DEMO_USER.accountId,
    claims: () => ({
      sub: DEMO_USER.accountId,
      name: DEMO_USER.name,
      email: DEMO_USER.email,
      email_verified: DEMO_USER.emailVerified,
    }),
  };
  return account;
};
