// Differential harness (issue 11 §9): the server is the judge of what a text does. Each text is
// classified and decided by Gatehouse's own classifier and policy, and sent, as the same bytes and
// under the same pinned session settings, straight to a real PostgreSQL, where four observers say
// what actually ran: the CommandComplete tags (top-level statements, in order), the transaction id
// (was anything written at all, even by code no statement shows), event triggers and statement-level
// audit triggers writing to log tables (which objects), and pg_stat_statements with track = all
// (which statements ran inside functions). `compare` lists every disagreement. docs/testing-differential.md.

import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import pg from 'pg';
import { sqlAction } from '../../src/core/action.js';
import type { Decision } from '../../src/core/decision.js';
import type { Identity } from '../../src/core/identity.js';
import type { SqlClassification, SqlStatement } from '../../src/core/sql-statement.js';
import type { PolicyConfig } from '../../src/config/policy-schema.js';
import { createPolicyDecider, defaultAgentPolicies } from '../../src/policy/index.js';
import { createPostgresClassifier, type PostgresClassifier } from '../../src/sql/postgres/index.js';
import { firstPinViolation, PINNED_SETTINGS, pinnedSetting } from '../../src/sql/postgres/pinned-settings.js';
import {
  BackendCode,
  decodeDataRow,
  decodeErrorFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  type Frame,
} from '../../src/wire/postgres/index.js';
import { RawPgClient, cstr, msg, typed } from './raw-pg-client.js';

/** The schema the harness logs into; nothing in the corpus touches it. */
export const LOG_SCHEMA = 'gh_diff';

/**
 * Observers (created first, so the fixture is audited too) and a fixture: a canary, a secrets
 * table, the policy-bypass probes' tables, and user code with side effects behind a SELECT.
 */
export const DIFFERENTIAL_FIXTURE_SQL = `
  CREATE SCHEMA ${LOG_SCHEMA};
  CREATE TABLE ${LOG_SCHEMA}.ddl_log (id bigserial PRIMARY KEY, event text NOT NULL, tag text NOT NULL,
    object_type text, identity text);
  CREATE TABLE ${LOG_SCHEMA}.dml_log (id bigserial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL);
  CREATE FUNCTION ${LOG_SCHEMA}.log_ddl() RETURNS event_trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $$
    DECLARE r record; n int := 0;
    BEGIN
      FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        INSERT INTO ${LOG_SCHEMA}.ddl_log (event, tag, object_type, identity)
          VALUES (TG_EVENT, r.command_tag, r.object_type, r.object_identity);
        n := n + 1;
      END LOOP;
      IF n = 0 THEN INSERT INTO ${LOG_SCHEMA}.ddl_log (event, tag) VALUES (TG_EVENT, TG_TAG); END IF;
    END $$;
  CREATE FUNCTION ${LOG_SCHEMA}.log_drop() RETURNS event_trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $$
    DECLARE r record;
    BEGIN
      FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
        INSERT INTO ${LOG_SCHEMA}.ddl_log (event, tag, object_type, identity)
          VALUES (TG_EVENT, TG_TAG, r.object_type, r.object_identity);
      END LOOP;
    END $$;
  CREATE FUNCTION ${LOG_SCHEMA}.log_dml() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog AS $$
    BEGIN
      INSERT INTO ${LOG_SCHEMA}.dml_log (tbl, op) VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP);
      RETURN NULL;
    END $$;
  -- Fail closed: a schema state digest the tests compare before and after (functions by signature
  -- and body, relations by kind and columns, triggers, event triggers, database settings, row data).
  CREATE FUNCTION ${LOG_SCHEMA}.state_digest() RETURNS text LANGUAGE plpgsql STABLE AS $$
    DECLARE r record; parts text[] := '{}'; d text;
    BEGIN
      FOR r IN SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname IN ('public', 'evil') ORDER BY 1, 2 LOOP
        EXECUTE format('SELECT md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) FROM %I.%I x',
                       E'\\n', '', r.nspname, r.relname) INTO d;
        parts := parts || (r.nspname || '.' || r.relname || ' rows ' || d);
      END LOOP;
      SELECT md5(string_agg(x, E'\\n' ORDER BY x)) INTO d FROM (
        SELECT 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' ' || c.relnatts || ' '
               || c.relhastriggers || ' ' || c.relrowsecurity AS x
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        UNION ALL SELECT 'col ' || attrelid::regclass::text || '.' || attname || ' ' || atttypid::regtype::text
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname IN ('public', 'evil', '${LOG_SCHEMA}')
        UNION ALL SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc) || ' ' || p.prosecdef
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        UNION ALL SELECT 'ns ' || nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_temp%' AND nspname NOT LIKE 'pg\\_toast\\_temp%'
        UNION ALL SELECT 'trg ' || tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text FROM pg_trigger WHERE NOT tgisinternal
        UNION ALL SELECT 'evt ' || evtname || ' ' || evtenabled::text FROM pg_event_trigger
        UNION ALL SELECT 'rule ' || rw.ev_class::regclass::text || ' ' || rw.rulename FROM pg_rewrite rw
          JOIN pg_class c ON c.oid = rw.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('public', 'evil')
        UNION ALL SELECT 'set ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
         WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
        UNION ALL SELECT 'acl ' || c.relname || ' ' || coalesce(c.relacl::text, '') FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'evil')
        UNION ALL SELECT 'seq ' || last_value || ' ' || is_called FROM public.s
        UNION ALL SELECT 'lo ' || count(*) FROM pg_largeobject_metadata
      ) objects;
      RETURN md5(array_to_string(parts, E'\\n') || d);
    END $$;

  CREATE TABLE canary (id int PRIMARY KEY, v text NOT NULL);
  INSERT INTO canary SELECT g, 'row ' || g FROM generate_series(1, 3) g;
  CREATE TABLE api_keys (key_id int PRIMARY KEY, service text NOT NULL, secret text NOT NULL);
  INSERT INTO api_keys VALUES (1, 'billing', 'sk_live_wJalrXUtnFEMIK7MDENGbPxRfiCY'), (2, 'mail', 'sk_live_mailR4nd0mS3cr3tV4lu3xx');
  CREATE TABLE t (id int PRIMARY KEY, v text);
  INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 10) g;
  CREATE TABLE "tëst" (id int);
  CREATE SCHEMA evil;
  CREATE TABLE evil.t (id int);
  CREATE SEQUENCE s;
  -- User code with side effects, reached from a SELECT (the hole issue 11 §9 asks about), and from a
  -- view; a harmless user function; a procedure; a function that changes a pinned setting.
  CREATE FUNCTION purge_canary() RETURNS int LANGUAGE plpgsql AS $$
    BEGIN DELETE FROM canary; RETURN 0; END $$;
  CREATE FUNCTION canary_count() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM canary';
  CREATE VIEW canary_report AS SELECT purge_canary() AS purged;
  CREATE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t $$;
  -- Code a SELECT runs without naming a function: an operator, a cast and a domain check.
  CREATE FUNCTION purge_op(int, int) RETURNS int LANGUAGE plpgsql AS $$
    BEGIN DELETE FROM canary; RETURN $1 + $2; END $$;
  CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = int, FUNCTION = purge_op);
  CREATE TYPE canary_pair AS (a int, b int);
  CREATE FUNCTION purge_cast(int) RETURNS canary_pair LANGUAGE plpgsql AS $$
    BEGIN DELETE FROM canary; RETURN ROW($1, $1); END $$;
  CREATE CAST (int AS canary_pair) WITH FUNCTION purge_cast(int);
  CREATE DOMAIN canary_checked AS int CHECK (purge_canary() = 0);
  CREATE FUNCTION sneaky_strings() RETURNS int LANGUAGE plpgsql AS $$
    BEGIN PERFORM set_config('standard_conforming_strings', 'off', false); RETURN 1; END $$;
  DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('public', 'evil') LOOP
      EXECUTE format('CREATE TRIGGER gh_diff_audit AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I.%I '
                     'FOR EACH STATEMENT EXECUTE FUNCTION ${LOG_SCHEMA}.log_dml()', r.schemaname, r.tablename);
    END LOOP;
  END $$;
  CREATE EVENT TRIGGER gh_diff_ddl ON ddl_command_end EXECUTE FUNCTION ${LOG_SCHEMA}.log_ddl();
  CREATE EVENT TRIGGER gh_diff_drop ON sql_drop EXECUTE FUNCTION ${LOG_SCHEMA}.log_drop();
  TRUNCATE ${LOG_SCHEMA}.dml_log, ${LOG_SCHEMA}.ddl_log;
`;

// ---------------------------------------------------------------- what Gatehouse says

/** How Gatehouse reads and decides one text, for one principal (the engine's path, without the wire). */
export interface GatehouseView {
  /** The bytes were refused before classification (invalid UTF-8, a NUL inside the text). */
  readonly bytesRefusal?: string;
  readonly classification?: SqlClassification;
  /** One decision per statement: the pinned-setting check, then policy (client-connection.ts). */
  readonly decisions: readonly Decision[];
  /** Every statement is allowed: Gatehouse would forward the text. */
  readonly forwarded: boolean;
  /** Forwarded, and every category is read, session or transaction. */
  readonly readOnly: boolean;
}

const READ_ONLY = new Set(['read', 'session', 'transaction']);

/** The demo's agent: a service token with the agent flag, in `ai-agents`. */
export const DEMO_AGENT: Identity = Object.freeze({
  subject: 'differential-agent',
  groups: Object.freeze(['ai-agents']),
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
});

export class GatehouseModel {
  private constructor(
    readonly classifier: PostgresClassifier,
    private readonly decider: ReturnType<typeof createPolicyDecider>,
    private readonly identity: Identity,
  ) {}

  static async create(
    options: { policies?: readonly PolicyConfig[]; identity?: Identity } = {},
  ): Promise<GatehouseModel> {
    const classifier = await createPostgresClassifier({ cacheSize: 0 });
    const decider = createPolicyDecider({
      policies: options.policies ?? defaultAgentPolicies(['app'], { mask: true }),
    });
    return new GatehouseModel(classifier, decider, options.identity ?? DEMO_AGENT);
  }

  view(input: string | Buffer): GatehouseView {
    const bytes = toBytes(input);
    // The engine reads a Query's text up to its NUL and insists on valid UTF-8 (strictText).
    if (bytes.includes(0)) return refusedBytes('the text holds a NUL byte');
    if (!isUtf8(bytes)) return refusedBytes('the text is not valid UTF-8');
    const classification = this.classifier.classify(bytes.toString('utf8'));
    const created = new Set<string>();
    const decisions = classification.statements.map((st) => this.decide(st, created));
    const forwarded = decisions.every((d) => d.effect === 'allow');
    const readOnly =
      forwarded && classification.statements.every((st) => st.categories.every((c) => READ_ONLY.has(c)));
    return { classification, decisions, forwarded, readOnly };
  }

  /** The engine's order: unparsed → policy; a pinned setting → refused; an unknown name → refused. */
  private decide(st: SqlStatement, created: Set<string>): Decision {
    const action = sqlAction({ connection: 'app', via: 'simple-query', statement: st });
    if (st.parseError !== undefined) return this.decider.decide(this.identity, action);
    const pin = firstPinViolation(st.settings);
    if (pin !== undefined) return { effect: 'deny', ruleId: 'pinned-setting', message: pin };
    for (const o of st.sessionObjects ?? []) {
      const key = `${o.kind}:${o.name}`;
      if (o.op === 'create') created.add(key);
      else if (o.op === 'use' && !created.has(key) && o.name !== '*')
        return { effect: 'deny', ruleId: `unknown-${o.kind}`, message: `no ${o.kind} ${o.name} here` };
    }
    return this.decider.decide(this.identity, action);
  }
}

function refusedBytes(reason: string): GatehouseView {
  return { bytesRefusal: reason, decisions: [], forwarded: false, readOnly: false };
}

const toBytes = (input: string | Buffer): Buffer =>
  typeof input === 'string' ? Buffer.from(input, 'utf8') : input;

// ---------------------------------------------------------------- what the server did

export interface DdlEvent {
  readonly event: string;
  readonly tag: string;
  readonly objectType: string | null;
  readonly identity: string | null;
}
export interface DmlEvent {
  readonly table: string;
  readonly op: string;
}

export interface ServerRun {
  /** CommandComplete tags of the top-level statements the server ran, in order. */
  readonly tags: readonly string[];
  /** The server answered EmptyQueryResponse. */
  readonly empty: boolean;
  readonly error?: { readonly code: string; readonly message: string };
  /** A transaction id was assigned while the text ran: something tried to write. Undefined: unknown. */
  readonly xidAssigned: boolean | undefined;
  readonly ddl: readonly DdlEvent[];
  readonly dml: readonly DmlEvent[];
  /** Statements run inside functions, procedures and DO blocks (pg_stat_statements, toplevel = false). */
  readonly nested: readonly string[];
  /** The text ended the harness's transaction (COMMIT, ROLLBACK…): its effects may have been kept. */
  readonly escaped: boolean;
  /** Effects survived (the fixture was rebuilt afterwards). */
  readonly committed: boolean;
  /** The server ended the session. */
  readonly sessionEnded: boolean;
  /** The text was not sent: Gatehouse refused it, or ended the session before it. */
  readonly notSent?: boolean;
  /**
   * The server reported a pinned setting changed (ParameterStatus), by code no statement showed.
   * Gatehouse's engine ends the session right there (the tripwire); the harness stops sending too.
   */
  readonly pinBroken?: string;
  /** The text broke the harness's own observers (dropped or locked its log tables). */
  readonly unobservable?: string;
}

interface Observation {
  xid: string | null;
  ddl: DdlEvent[];
  dml: DmlEvent[];
}

const OBSERVE = `SELECT pg_current_xact_id_if_assigned()::text,
  (SELECT coalesce(json_agg(json_build_array(event, tag, object_type, identity) ORDER BY id), '[]')
     FROM ${LOG_SCHEMA}.ddl_log)::text,
  (SELECT coalesce(json_agg(json_build_array(tbl, op) ORDER BY id), '[]') FROM ${LOG_SCHEMA}.dml_log)::text`;

/** A database with the fixture, a superuser session to run texts in, and an observer session. */
export class DifferentialServer {
  private subject!: RawPgClient;
  private observer!: pg.Client;
  private dbOid = 0;
  private baseline = '';
  /** pg_stat_statements is loaded (the test kit's server preloads it; PG_TEST_URL may not). */
  statementsObserved = false;
  restores = 0;

  private constructor(
    private readonly superUrl: string,
    private readonly template: string,
    private readonly database: string,
    private readonly role: string,
    private readonly rolePassword: string,
    private roleOid: number,
    /** A role with the demo agent's rights (SET ROLE to it to run as the demo's upstream login). */
    readonly agentRole: string,
  ) {}

  static async start(superUrl: string): Promise<DifferentialServer> {
    const id = randomBytes(4).toString('hex');
    const template = `diff_tmpl_${id}`;
    const role = `gh_diff_subject_${id}`;
    const agentRole = `gh_diff_agent_${id}`;
    const password = randomBytes(12).toString('hex');
    const admin = new pg.Client({ connectionString: superUrl });
    await admin.connect();
    let roleOid: number;
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password}'`);
      // The demo's agent role (src/demo/run-demo.ts): reads and writes rows, owns nothing.
      await admin.query(
        `CREATE ROLE ${agentRole} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS`,
      );
      roleOid = (await admin.query(`SELECT oid::int AS oid FROM pg_roles WHERE rolname = $1`, [role])).rows[0]
        .oid as number;
      await admin.query(`CREATE DATABASE ${template}`);
    } finally {
      await admin.end();
    }
    const t = new pg.Client({ connectionString: dbUrl(superUrl, template) });
    await t.connect();
    try {
      // Before the fixture's event triggers; a server without the library still gets the fixture.
      await t.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').catch(() => undefined);
      await t.query(DIFFERENTIAL_FIXTURE_SQL);
      await t.query(`
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        GRANT USAGE ON SCHEMA public TO ${agentRole};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${agentRole};
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${agentRole};
        -- so the harness can still observe inside a session that switched to it
        GRANT USAGE ON SCHEMA ${LOG_SCHEMA} TO ${agentRole};
        GRANT SELECT ON ALL TABLES IN SCHEMA ${LOG_SCHEMA} TO ${agentRole};
        TRUNCATE ${LOG_SCHEMA}.ddl_log, ${LOG_SCHEMA}.dml_log;`);
    } finally {
      await t.end();
    }
    const server = new DifferentialServer(
      superUrl,
      template,
      `diff_${id}`,
      role,
      password,
      roleOid,
      agentRole,
    );
    await server.rebuild();
    return server;
  }

  /** libpq URL of the working database (as the superuser), for direct assertions. */
  get url(): string {
    return dbUrl(this.superUrl, this.database);
  }

  /** Drops the working database and copies it afresh from the fixture template; new sessions. */
  private async rebuild(): Promise<void> {
    this.subject?.close();
    await this.observer?.end().catch(() => undefined);
    const admin = new pg.Client({ connectionString: this.superUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${this.database} TEMPLATE ${this.template}`);
      this.dbOid = (
        await admin.query('SELECT oid::int AS oid FROM pg_database WHERE datname = $1', [this.database])
      ).rows[0].oid as number;
    } finally {
      await admin.end();
    }
    this.observer = new pg.Client({ connectionString: this.url });
    this.observer.on('error', () => undefined);
    await this.observer.connect();
    this.statementsObserved = await this.observer.query('SELECT 1 FROM pg_stat_statements LIMIT 1').then(
      () => true,
      () => false,
    );
    await this.openSubject();
    this.baseline = await this.digest();
  }

  private async openSubject(): Promise<void> {
    const u = new URL(this.url);
    u.username = this.role;
    u.password = this.rolePassword;
    // The settings Gatehouse pins at upstream login, sent the same way (startup parameters).
    const pinned = Object.fromEntries(Object.entries(PINNED_SETTINGS).map(([k, v]) => [k, v.value]));
    this.subject = await RawPgClient.direct(u.toString(), {
      ...pinned,
      application_name: 'gatehouse-differential',
      statement_timeout: '10s',
      ...(this.statementsObserved ? { 'pg_stat_statements.track': 'all' } : {}),
    });
  }

  /** The fixture's state digest (schema objects, row data, database settings). */
  async digest(): Promise<string> {
    return (await this.observer.query(`SELECT ${LOG_SCHEMA}.state_digest() AS d`)).rows[0].d as string;
  }

  /** Runs one text in its own transaction, rolled back afterwards (the fixture is rebuilt if it escaped). */
  async run(text: string | Buffer): Promise<ServerRun> {
    return (await this.runSession([text]))[0]!;
  }

  /**
   * Runs several texts in one session and one transaction (so a setting changed by one is in force
   * for the next), observing each. `send(i)` false skips a text (Gatehouse refused it).
   */
  async runSession(texts: readonly (string | Buffer)[], send?: (i: number) => boolean): Promise<ServerRun[]> {
    const runs: ServerRun[] = [];
    await this.query('BEGIN');
    let before: Observation = { xid: null, ddl: [], dml: [] };
    let escaped = false;
    let ended = false;
    for (let i = 0; i < texts.length; i++) {
      if (ended || (send !== undefined && !send(i))) {
        runs.push(notSent(ended));
        continue;
      }
      const frames = await this.exchange(msg.query(toBytes(texts[i]!)));
      const status = lastStatus(frames);
      const pinBroken = brokenPin(frames);
      // Gatehouse's engine ends the session at a broken pin; a raw run (no `send`) goes on, to show
      // what the pin protects against.
      ended = this.subject.closed || (send !== undefined && pinBroken !== undefined);
      escaped ||= status === 'I';
      // After an error the transaction is aborted and everything rolls back: nothing to observe.
      const after = ended || status === 'E' ? undefined : await this.observe();
      // pg_stat_statements only explains a write (in failure messages): read it, then reset it,
      // when this text wrote; statements of texts that wrote nothing are left to accumulate.
      const wrote =
        after !== undefined &&
        ((after.xid !== null && before.xid === null) ||
          after.ddl.length > before.ddl.length ||
          after.dml.length > before.dml.length);
      const nested = this.statementsObserved && wrote ? await this.nestedStatements() : [];
      const unobservable =
        !ended && status !== 'E' && after === undefined
          ? "the harness's log tables could not be read after the text"
          : undefined;
      const errors = frames
        .filter((f) => f.type === BackendCode.ErrorResponse)
        .map((f) => decodeErrorFields(f.body));
      const error = errors[0];
      runs.push({
        tags: frames
          .filter((f) => f.type === BackendCode.CommandComplete)
          .map((f) => f.body.subarray(0, f.body.indexOf(0)).toString('utf8')),
        empty: frames.some((f) => f.type === BackendCode.EmptyQueryResponse),
        ...(error ? { error: { code: error.C ?? '', message: error.M ?? '' } } : {}),
        // Once the transaction has an id, a later text cannot be told apart: unknown.
        xidAssigned: after === undefined || before.xid !== null ? undefined : after.xid !== null,
        ddl: after ? after.ddl.slice(before.ddl.length) : [],
        dml: after ? after.dml.slice(before.dml.length) : [],
        nested,
        escaped: status === 'I',
        committed: false,
        sessionEnded: this.subject.closed,
        ...(pinBroken ? { pinBroken } : {}),
        ...(unobservable ? { unobservable } : {}),
      });
      if (after) before = after;
    }
    // ROLLBACK and DISCARD ALL also undo a changed pinned setting (set_config is transactional, and
    // RESET ALL returns to the startup values).
    const committed = await this.settle(escaped || ended);
    if (committed.length > 0) {
      // Whatever survived is attributed to the texts that ended the transaction, or, when none did
      // visibly (COMMIT; BEGIN), to every text sent.
      const culprits = runs.filter((r) => r.escaped || r.sessionEnded);
      return runs.map((r) =>
        !r.notSent && (culprits.length === 0 || culprits.includes(r)) ? { ...r, committed: true } : r,
      );
    }
    return runs;
  }

  /** Rolls back, resets the session, and rebuilds the fixture if anything survived. */
  private async settle(suspect: boolean): Promise<string[]> {
    const evidence: string[] = [];
    if (!this.subject.closed) {
      this.subject.send(msg.query('ROLLBACK'), msg.query('DISCARD ALL'));
      await this.subject.ready();
      await this.subject.ready();
    }
    const left = await this.observer
      .query(
        `SELECT (SELECT count(*) FROM ${LOG_SCHEMA}.ddl_log)::int AS ddl, (SELECT count(*) FROM ${LOG_SCHEMA}.dml_log)::int AS dml`,
      )
      .then(
        (r) => r.rows[0] as { ddl: number; dml: number },
        () => ({ ddl: -1, dml: -1 }),
      );
    if (left.ddl !== 0 || left.dml !== 0) evidence.push(`log rows left: ${JSON.stringify(left)}`);
    if (suspect || evidence.length > 0) {
      const now = await this.digest().catch(() => 'unreadable');
      if (now !== this.baseline) evidence.push('state digest changed');
    }
    if (evidence.length > 0 || this.subject.closed) {
      this.restores++;
      await this.rebuild();
    }
    return evidence;
  }

  private async resetStatements(): Promise<void> {
    if (this.statementsObserved)
      await this.observer.query(
        'SELECT pg_stat_statements_reset(userid => $1::oid, dbid => $2::oid, queryid => 0)',
        [this.roleOid, this.dbOid],
      );
  }

  /** Statements run inside code since the last reset (then reset), excluding the harness's own. */
  private async nestedStatements(): Promise<string[]> {
    const r = await this.observer.query(
      `SELECT query FROM pg_stat_statements WHERE userid = $1 AND dbid = $2 AND NOT toplevel
          AND query NOT LIKE '%${LOG_SCHEMA}.%' AND query NOT LIKE '%pg_event_trigger_%' ORDER BY query`,
      [this.roleOid, this.dbOid],
    );
    await this.resetStatements();
    return r.rows.map((row: { query: string }) => row.query);
  }

  private async observe(): Promise<Observation | undefined> {
    const frames = await this.exchange(msg.query(OBSERVE));
    const row = frames.find((f) => f.type === BackendCode.DataRow);
    if (!row) return undefined;
    const [xid, ddl, dml] = decodeDataRow(row.body).map((b) => (b === null ? null : b.toString('utf8')));
    return {
      xid: xid ?? null,
      ddl: (JSON.parse(ddl ?? '[]') as [string, string, string | null, string | null][]).map(
        ([event, tag, objectType, identity]) => ({ event, tag, objectType, identity }),
      ),
      dml: (JSON.parse(dml ?? '[]') as [string, string][]).map(([table, op]) => ({ table, op })),
    };
  }

  private async query(sql: string): Promise<Frame[]> {
    return this.exchange(msg.query(sql));
  }

  /**
   * Sends one message and collects every frame up to its ReadyForQuery (or the session's end). A
   * COPY … FROM STDIN is answered with CopyFail: the harness never feeds data.
   */
  private async exchange(message: Buffer): Promise<Frame[]> {
    if (this.subject.closed) return [];
    this.subject.send(message);
    const frames: Frame[] = [];
    for (;;) {
      const got = await this.subject.until(
        (f) => f.type === BackendCode.ReadyForQuery || f.type === BackendCode.CopyInResponse,
      );
      frames.push(...got);
      const last = got.at(-1);
      if (!last || last.type === BackendCode.ReadyForQuery || this.subject.closed) return frames;
      this.subject.send(typed('f', cstr('differential harness sends no COPY data')));
    }
  }

  async stop(): Promise<void> {
    this.subject?.close();
    await this.observer?.end().catch(() => undefined);
    const admin = new pg.Client({ connectionString: this.superUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
      await admin.query(`DROP DATABASE IF EXISTS ${this.template} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${this.role}`);
      await admin.query(`DROP ROLE IF EXISTS ${this.agentRole}`);
    } finally {
      await admin.end();
    }
  }
}

function notSent(ended: boolean): ServerRun {
  return {
    tags: [],
    empty: false,
    xidAssigned: false,
    ddl: [],
    dml: [],
    nested: [],
    escaped: false,
    committed: false,
    sessionEnded: ended,
    notSent: true,
  };
}

/** A ParameterStatus that moves a pinned setting off its pinned value (what the engine's tripwire reads). */
function brokenPin(frames: readonly Frame[]): string | undefined {
  for (const f of frames) {
    if (f.type !== BackendCode.ParameterStatus) continue;
    const { name, value } = decodeParameterStatus(f.body);
    const pinned = pinnedSetting(name);
    if (pinned !== undefined && !pinned.accepts(value)) return `${name} = ${value}`;
  }
  return undefined;
}

function lastStatus(frames: readonly Frame[]): string | undefined {
  const rfq = frames.filter((f) => f.type === BackendCode.ReadyForQuery).at(-1);
  return rfq ? decodeReadyForQuery(rfq.body) : undefined;
}

function dbUrl(superUrl: string, database: string): string {
  const u = new URL(superUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

// ---------------------------------------------------------------- comparing the two

export type DiscrepancyKind =
  | 'bytes' // Gatehouse refused the bytes, the server ran them
  | 'parser' // Gatehouse could not parse the text, the server ran it
  | 'statement-count' // the server ran another number of statements than Gatehouse classified
  | 'statement-type' // a statement ran as another type than Gatehouse classified
  | 'write-on-read-only' // Gatehouse let it through as read-only, the server wrote
  | 'unclassified-write' // a table written that no statement of the classification writes
  | 'unclassified-ddl' // a schema change the classification does not show
  | 'pin-changed'; // Gatehouse would forward it, and it changed a pinned setting out of sight

export interface Discrepancy {
  readonly kind: DiscrepancyKind;
  readonly detail: string;
}

/**
 * Functions and statements that take a transaction id without writing any row: a NOTIFY queues its
 * message under the sender's xid (async.c), and these functions hand out the current xid.
 */
const XID_WITHOUT_ROW_WRITES = {
  kinds: new Set(['notify']),
  functions: new Set(['pg_notify', 'txid_current', 'pg_current_xact_id']),
};

/** Command tags whose words differ from the classifier's kind for the same statement type. */
const TAG_FOR_KIND: Readonly<Record<string, readonly string[]>> = {
  values: ['SELECT'],
  'select into': ['SELECT'],
  'create table as': ['SELECT'],
  'create materialized view': ['SELECT'],
  end: ['COMMIT', 'ROLLBACK'],
  commit: ['COMMIT', 'ROLLBACK'],
  abort: ['ROLLBACK'],
  'create user': ['CREATE ROLE'],
  'create group': ['CREATE ROLE'],
  'alter user': ['ALTER ROLE'],
  'alter group': ['ALTER ROLE'],
  'drop user': ['DROP ROLE'],
  'drop group': ['DROP ROLE'],
  'set transaction': ['SET'],
  'declare cursor': ['DECLARE CURSOR'],
  'reset all': ['RESET'],
  truncate: ['TRUNCATE TABLE'],
  lock: ['LOCK TABLE'],
  close: ['CLOSE CURSOR', 'CLOSE CURSOR ALL'],
  'explain analyze': ['EXPLAIN'],
};

/** The tag without its row counts ("INSERT 0 1" → "INSERT"). */
export function tagWords(tag: string): string {
  return tag.replace(/( \d+)+$/, '');
}

/** Does a CommandComplete tag name the statement type the classifier gave? */
export function tagMatchesKind(tag: string, kind: string): boolean {
  const words = tagWords(tag);
  if (kind === 'execute') return true; // the tag is that of the prepared statement it runs
  if (kind.startsWith('set ') && !(kind in TAG_FOR_KIND) && kind !== 'set constraints')
    return words === 'SET';
  if (kind.startsWith('reset ')) return words === 'RESET';
  const expected = TAG_FOR_KIND[kind] ?? [kind.toUpperCase()];
  if (expected.includes(words)) return true;
  // ALTER TABLE also alters indexes, views and sequences; DROP/ALTER of a routine names it FUNCTION,
  // PROCEDURE or ROUTINE: the verb and the object family must agree, not the exact object word.
  const [verb, ...object] = words.split(' ');
  const [kindVerb, ...kindObject] = kind.toUpperCase().split(' ');
  if (verb !== kindVerb) return false;
  const family = (w: string[]) => {
    const o = w.join(' ');
    if (/^(TABLE|INDEX|VIEW|SEQUENCE|MATERIALIZED VIEW|FOREIGN TABLE)$/.test(o)) return 'relation';
    if (/^(FUNCTION|PROCEDURE|ROUTINE|AGGREGATE)$/.test(o)) return 'routine';
    return o;
  };
  return family(object) === family(kindObject);
}

const DDL_CATEGORIES_FOR_TAG: readonly [RegExp, readonly string[]][] = [
  [/^CREATE /, ['ddl-create', 'procedural']],
  [/^ALTER /, ['ddl-alter', 'ddl-drop', 'privilege', 'procedural', 'admin']],
  [/^DROP /, ['ddl-drop', 'drop-database', 'privilege', 'procedural']],
  [/^(GRANT|REVOKE)$/, ['privilege']],
  [/^COMMENT$/, ['ddl-alter']],
  [/^SECURITY LABEL$/, ['privilege']],
  [/^SELECT INTO$/, ['ddl-create']],
  [/^REFRESH MATERIALIZED VIEW$/, ['write']],
];

/** Every disagreement between what Gatehouse classified and decided and what the server did. */
export function compare(g: GatehouseView, s: ServerRun): Discrepancy[] {
  const out: Discrepancy[] = [];
  if (s.notSent) return out;
  const ran = s.tags;
  if (g.bytesRefusal !== undefined) {
    if (ran.length > 0)
      out.push({ kind: 'bytes', detail: `${g.bytesRefusal}, yet the server ran ${ran.join(', ')}` });
    return out;
  }
  const c = g.classification!;
  if (c.parseError !== undefined) {
    if (ran.length > 0)
      out.push({ kind: 'parser', detail: `Gatehouse: ${c.parseError}; the server ran ${ran.join(', ')}` });
    return out;
  }
  const statements = c.statements;
  const kinds = statements.map((st) => st.kind);
  const expected = `${statements.length} statement(s) [${kinds.join(', ')}]`;
  if (s.error === undefined && !s.sessionEnded) {
    if (ran.length !== statements.length)
      out.push({
        kind: 'statement-count',
        detail: `Gatehouse: ${expected}; the server ran [${ran.join(', ')}]`,
      });
    if (s.empty !== (statements.length === 0))
      out.push({ kind: 'statement-count', detail: `Gatehouse: ${expected}; server empty-query: ${s.empty}` });
  } else if (ran.length > 0 && ran.length >= statements.length) {
    out.push({
      kind: 'statement-count',
      detail: `Gatehouse: ${expected}; the server ran [${ran.join(', ')}] and then failed (${s.error?.message ?? 'session ended'})`,
    });
  }
  for (let i = 0; i < Math.min(ran.length, statements.length); i++) {
    if (!tagMatchesKind(ran[i]!, kinds[i]!))
      out.push({
        kind: 'statement-type',
        detail: `statement ${i + 1}: Gatehouse '${kinds[i]!}', the server '${ran[i]!}'`,
      });
  }

  if (s.pinBroken !== undefined && g.forwarded)
    out.push({
      kind: 'pin-changed',
      detail: `Gatehouse would forward ${expected}; the server reported ${s.pinBroken} (the engine's tripwire ends such a session)`,
    });

  const categories = new Set(statements.flatMap((st) => st.categories));
  const opaque = categories.has('procedural') || categories.has('unknown');
  const functions = new Set(statements.flatMap((st) => st.functions.map((f) => f.split('.').at(-1)!)));
  if (g.readOnly) {
    const evidence: string[] = [];
    const xidExcused =
      statements.some((st) => XID_WITHOUT_ROW_WRITES.kinds.has(st.kind)) ||
      [...functions].some((f) => XID_WITHOUT_ROW_WRITES.functions.has(f));
    if (s.xidAssigned === true && !xidExcused) evidence.push('a transaction id was assigned');
    if (s.ddl.length > 0) evidence.push(`schema changes: ${unique(s.ddl.map(describeDdl)).join('; ')}`);
    if (s.dml.length > 0) evidence.push(`writes: ${s.dml.map((d) => `${d.op} ${d.table}`).join('; ')}`);
    if (s.committed) evidence.push('effects survived the transaction');
    if (s.unobservable !== undefined) evidence.push(s.unobservable);
    if (evidence.length > 0) {
      const hidden = s.nested.length > 0 ? `; statements run inside functions: ${s.nested.join(' | ')}` : '';
      out.push({
        kind: 'write-on-read-only',
        detail: `Gatehouse allowed ${expected} as read-only; the server: ${evidence.join('; ')}${hidden}`,
      });
    }
  }
  const writes = new Set(['write', 'write-unbounded', 'truncate']);
  for (const d of s.dml) {
    const [schema, name] = d.table.split('.') as [string, string];
    const named = statements.some(
      (st) =>
        st.categories.some((cat) => writes.has(cat)) &&
        st.tables.some((tb) => tb.name === name && (tb.schema === undefined || tb.schema === schema)),
    );
    if (!named && !opaque)
      out.push({
        kind: 'unclassified-write',
        detail: `the server ran ${d.op} on ${d.table}; Gatehouse: ${expected} with categories [${[...categories].join(', ')}] naming ${JSON.stringify(statements.flatMap((st) => st.tables))}`,
      });
  }
  const reported = new Set<string>();
  for (const d of s.ddl) {
    if (reported.has(`${d.event} ${d.tag}`)) continue;
    reported.add(`${d.event} ${d.tag}`);
    const rule = DDL_CATEGORIES_FOR_TAG.find(([re]) => re.test(d.tag));
    const need =
      d.event === 'sql_drop' ? ['ddl-drop', 'ddl-alter', 'drop-database', 'procedural'] : (rule?.[1] ?? []);
    if (!opaque && !need.some((cat) => categories.has(cat as never)))
      out.push({
        kind: 'unclassified-ddl',
        detail: `the server ran ${describeDdl(d)}; Gatehouse: ${expected} with categories [${[...categories].join(', ')}]`,
      });
  }
  return out;
}

function unique(items: readonly string[], max = 6): string[] {
  const u = [...new Set(items)];
  return u.length > max ? [...u.slice(0, max), `… ${u.length - max} more`] : u;
}

function describeDdl(d: DdlEvent): string {
  return `${d.tag}${d.identity ? ` ${d.identity}` : ''} (${d.event})`;
}

/**
 * libpg_query (which the classifier runs) returns comments as tokens, so a `--` comment inside the
 * whitespace that continues a string literal across a newline ends the literal there, and the text
 * fails to parse where PostgreSQL reads one literal (pganalyze/libpg_query#365). Gatehouse then
 * refuses what the server would run: fail closed, never a bypass. True when that explains a parser
 * disagreement: without its `--` comments the text parses, to as many statements as the server ran.
 */
export function continuationCommentGap(
  classifier: PostgresClassifier,
  text: string | Buffer,
  serverStatements: number,
): boolean {
  const bytes = toBytes(text);
  if (!isUtf8(bytes)) return false;
  const source = bytes.toString('utf8');
  if (!source.includes("'") || !source.includes('--')) return false;
  const stripped = classifier.classify(source.replace(/--[^\n\r]*/g, ''));
  return stripped.parseError === undefined && stripped.statements.length === serverStatements;
}

// ---------------------------------------------------------------- both

export interface DifferentialResult {
  readonly text: string;
  readonly gatehouse: GatehouseView;
  readonly server: ServerRun;
  readonly discrepancies: readonly Discrepancy[];
  /** Disagreements explained by a known, fail-closed gap (continuationCommentGap), kept apart. */
  readonly knownGaps: readonly Discrepancy[];
}

/** Gatehouse's model and a server, side by side. */
export class DifferentialHarness {
  private constructor(
    readonly model: GatehouseModel,
    readonly server: DifferentialServer,
  ) {}

  static async start(
    superUrl: string,
    options: { policies?: readonly PolicyConfig[]; identity?: Identity } = {},
  ): Promise<DifferentialHarness> {
    const [model, server] = await Promise.all([
      GatehouseModel.create(options),
      DifferentialServer.start(superUrl),
    ]);
    return new DifferentialHarness(model, server);
  }

  /** One text, sent to the server whatever Gatehouse decided, and compared. */
  async run(text: string | Buffer): Promise<DifferentialResult> {
    return (await this.session([text], { onlyForwarded: false }))[0]!;
  }

  /**
   * Several texts in one session. `onlyForwarded` (the default) sends only what Gatehouse would
   * forward, as Gatehouse in front of the server would; false sends everything, which shows what
   * the pins and refusals protect against.
   */
  async session(
    texts: readonly (string | Buffer)[],
    options: { onlyForwarded?: boolean } = {},
  ): Promise<DifferentialResult[]> {
    const views = texts.map((t) => this.model.view(t));
    const only = options.onlyForwarded ?? true;
    const runs = await this.server.runSession(texts, only ? (i) => views[i]!.forwarded : undefined);
    return runs.map((server, i) => {
      const all = compare(views[i]!, server);
      const known = (d: Discrepancy) =>
        d.kind === 'parser' && continuationCommentGap(this.model.classifier, texts[i]!, server.tags.length);
      return {
        text: printable(texts[i]!),
        gatehouse: views[i]!,
        server,
        discrepancies: all.filter((d) => !known(d)),
        knownGaps: all.filter(known),
      };
    });
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

/** A text for messages: bytes that are not UTF-8 shown as \xNN. */
export function printable(input: string | Buffer): string {
  if (typeof input === 'string') return input;
  if (isUtf8(input)) return input.toString('utf8');
  return [...input]
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
    .join('');
}
