-- Rows written by release 9c035a7 own code (Store, AuditLog, BlockJournal,
-- LoginGuard, CallbackBook, Accounts) into a store made from schema-9c035a7.sql,
-- then dumped: real plain-SHA-256 audit chain, scrypt password hash, token hash.
-- Known secrets (test values): the admin token old-token-izbica-0123456789abcdef0123456789,
-- the session id old-session-id-0123456789abcdef01234567, ola's password old-password-1234.
-- The time was 4000000000 (2096): the lock on izbica/12345678 and the session still hold.
INSERT INTO "admin_tokens" VALUES('ci-bot','1ab60b515b5f369a31719798512680e26dc8169714d06a1bd803077327304701','izbica','2026-12-06T06:36:20+00:00');
INSERT INTO "audit" VALUES(1,'2026-12-06T06:36:20.566+00:00','izbica','c1','600100200','authenticate','*****678','ok','','{}','0000000000000000000000000000000000000000000000000000000000000000','f98f51e53a975c208a0417562158e6c6927109f41b3857ee0d6ef6d01755b901');
INSERT INTO "audit" VALUES(2,'2026-12-06T06:36:20.573+00:00','izbica','c1','600100200','block_card','*****678','journaled','90000001','{"card": "4111"}','f98f51e53a975c208a0417562158e6c6927109f41b3857ee0d6ef6d01755b901','423ca6eff6f8c8786d0357ed6938222113db3b4a67cc4457c5b0a42a515568b1');
INSERT INTO "audit" VALUES(3,'2026-12-06T06:36:20.577+00:00','*','','','prompt_edit','','ok','','{"prompt": "welcome", "who": "web:ola"}','423ca6eff6f8c8786d0357ed6938222113db3b4a67cc4457c5b0a42a515568b1','e1abc56d2245a737fe22bfeab0b0e35dbf496301a4a0853122a34ab777644848');
INSERT INTO "callbacks" VALUES(1,'izbica','konsultanci','600100200','12345678','authenticated','2026-12-06T06:36:20+00:00','2026-12-06T06:36:20+00:00','open','','');
INSERT INTO "journal" VALUES(1,'op-1','izbica','c1','600100200','12345678','block_card','4111','90000001','pending','2026-12-06T06:36:20+00:00',0,'','','');
INSERT INTO "journal" VALUES(2,'op-2','izbica','c2','600100201','87654321','block_internet_banking','87654321','92728207','delivered','2026-12-06T06:36:20+00:00',1,'','BANK-7','2026-12-06T06:36:20+00:00');
INSERT INTO "login_attempts" VALUES('izbica','600100200','12345678',4000000000.0);
INSERT INTO "login_attempts" VALUES('izbica','600100200','12345678',4000000000.0);
INSERT INTO "login_attempts" VALUES('izbica','600100200','12345678',4000000000.0);
INSERT INTO "login_attempts" VALUES('izbica','600100300','11112222',4000000000.0);
INSERT INTO "login_failures" VALUES('izbica','12345678',0,4000001800.0);
INSERT INTO "login_failures" VALUES('izbica','11112222',1,0.0);
INSERT INTO "prompt_history" VALUES(1,'izbica','welcome','Witamy.','Dzień dobry, tu Izbica.','web:ola','2026-12-06T06:36:20+00:00');
INSERT INTO "prompt_history" VALUES(2,'izbica','welcome','Dzień dobry, tu Izbica.','Dzień dobry, tu bank w Izbicy.','web:jan','2026-12-06T06:36:20+00:00');
INSERT INTO "prompt_history" VALUES(3,'cieszyn','goodbye','Żegnamy.','Do widzenia.','cli:root','2026-12-06T06:36:20+00:00');
INSERT INTO "prompt_texts" VALUES('izbica','welcome','Dzień dobry, tu bank w Izbicy.',2);
INSERT INTO "prompt_texts" VALUES('cieszyn','goodbye','Do widzenia.',3);
INSERT INTO "recordings" VALUES('abababababababababababababababababababababababababababababababab','wav',X'524946462400000057415645666D74206F6C64207265636F7264696E67',1.5,'web:ola','2026-12-06T06:36:20+00:00');
INSERT INTO "web_login_failures" VALUES('jan',4000000000.0);
INSERT INTO "web_sessions" VALUES('07d33db01eb7d106df190c4c26bdee512a469c2e5a73d268d9921ab1e64beea9','ola','old-csrf-0123456789abcdef0123456789abcd',4000028800.0);
INSERT INTO "web_users" VALUES('ola','admin','*','56b53206aba6a65da4264c5da4433a00','be31055548958e3e02cebfe354c027d38bd514a867dae9b2520ae09ce157c72d','2026-12-06T06:36:20+00:00');
