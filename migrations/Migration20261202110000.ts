import { Migration } from '@mikro-orm/migrations';

/**
 * Artifacts stored in the clear by earlier versions take the form adapters/oauth/adapter.ts now
 * writes: the id (a bearer secret) as its SHA-256, and no copy of it in the payload, so that codes,
 * refresh tokens and sessions issued before the upgrade keep working. Grants keep their ids. A row
 * still in the clear is one whose payload repeats its id as `jti`. Hashes cannot be undone, so there
 * is no way down.
 */
export class Migration20261202110000 extends Migration {
  override async up(): Promise<void> {
    const hex = (column: string) => `encode(sha256(convert_to(${column}, 'UTF8')), 'hex')`;
    const inTheClear = `model <> 'Grant' and payload->>'jti' = id`;
    this.addSql(
      `update "oidc_artifacts" set "payload" = "payload" #- '{session,cookie}' where model = 'Interaction' and ${inTheClear};`,
    );
    this.addSql(
      `update "oidc_artifacts" set "payload" = jsonb_set("payload", '{returnTo}', to_jsonb(replace("payload"->>'returnTo', id, '{uid}'))) where model = 'Interaction' and ${inTheClear} and "payload"->>'returnTo' is not null;`,
    );
    this.addSql(
      `update "oidc_artifacts" set "user_code" = ${hex('"user_code"')}, "payload" = "payload" - 'userCode' where ${inTheClear} and "user_code" is not null;`,
    );
    this.addSql(
      `update "oidc_artifacts" set "id" = ${hex('"id"')}, "payload" = "payload" - 'jti' where ${inTheClear};`,
    );
  }
}
