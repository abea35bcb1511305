/** Every entity the ORM knows, one file per aggregate. */
import { ApiKeySchema } from './api-key.js';
import { InvoiceSchema, StripeEventSchema, SubscriptionSchema } from './billing.js';
import { FederatedStateSchema } from './federated-state.js';
import { AuditLogSchema } from './audit-log.js';
import { IdempotencySchema } from './idempotency.js';
import { InviteSchema } from './invite.js';
import { LoginEventSchema } from './login-history.js';
import { PasskeySchema, WebAuthnChallengeSchema } from './passkey.js';
import { OAuthClientSchema, OidcArtifactSchema, RevokedAccessTokenSchema, SigningKeySchema } from './oauth.js';
import { FormSchema, FormSubmissionSchema } from './form.js';
import { ProjectSchema } from './project.js';
import { WidgetSchema } from './widget.js';
import { MemberSchema, OrganizationSchema } from './organization.js';
import { SessionSchema } from './session.js';
import { SamlAssertionSchema, SsoConnectionSchema, SsoDomainSchema } from './sso.js';
import { BackupCodeSchema, SignInChallengeSchema, TwoFactorSchema } from './two-factor.js';
import { AccountSchema, UserSchema } from './user.js';
import { VerificationSchema } from './verification.js';

export const entities = [
  UserSchema,
  AccountSchema,
  SessionSchema,
  VerificationSchema,
  LoginEventSchema,
  OrganizationSchema,
  MemberSchema,
  InviteSchema,
  ProjectSchema,
  AuditLogSchema,
  ApiKeySchema,
  IdempotencySchema,
  OAuthClientSchema,
  OidcArtifactSchema,
  SigningKeySchema,
  RevokedAccessTokenSchema,
  TwoFactorSchema,
  BackupCodeSchema,
  SignInChallengeSchema,
  PasskeySchema,
  WebAuthnChallengeSchema,
  SsoConnectionSchema,
  SsoDomainSchema,
  SamlAssertionSchema,
  FederatedStateSchema,
  FormSchema,
  FormSubmissionSchema,
  WidgetSchema,
  SubscriptionSchema,
  InvoiceSchema,
  StripeEventSchema,
];
