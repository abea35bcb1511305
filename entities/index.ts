/** Every entity the ORM knows, one file per aggregate. */
import { LoginEventSchema } from './login-history.js';
import { MemberSchema, OrganizationSchema } from './organization.js';
import { SessionSchema } from './session.js';
import { AccountSchema, UserSchema } from './user.js';
import { VerificationSchema } from './verification.js';

export const entities = [UserSchema, AccountSchema, SessionSchema, VerificationSchema, LoginEventSchema, OrganizationSchema, MemberSchema];
