-- Rows written by the code at 8e0403f (Store, AuditLog with the key
-- "fixture audit key: tests/data/store only!!", LoginGuard) and dumped.
-- The admin token today-token-queues-0123456789abcdef012345678 has scopes queues and
-- supervise; izbica/12345678 is locked for telekod and date of birth until 4000001800.
INSERT INTO "admin_tokens" VALUES('dyspozytor','6edd40cc4e2aad4bd181edc3c0cf4ca917a1511633acf1085d1da80f1676ee73','izbica','2026-12-06T06:36:31+00:00','queues supervise');
INSERT INTO "audit" VALUES(1,'2026-12-06T06:36:31.861+00:00','izbica','','600100200','authenticate','*****678','locked','','{}','0000000000000000000000000000000000000000000000000000000000000000','k1:e0596a55:2a66e5ebf64a90e2cdcfb9ed322466f24aa1feebe6e7b8bece73e0f7a9deab34');
INSERT INTO "login_attempts" VALUES('izbica','','12345678',4000000000.0);
INSERT INTO "login_attempts" VALUES('izbica','','12345678',4000000000.0);
INSERT INTO "login_attempts" VALUES('izbica','','12345678',4000000000.0);
INSERT INTO "login_attempts" VALUES('izbica','','12345678',4000000000.0);
INSERT INTO "login_attempts" VALUES('izbica','','12345678',4000000000.0);
INSERT INTO "login_attempts" VALUES('izbica','','12345678',4000000000.0);
INSERT INTO "login_locks" VALUES('izbica','12345678','authenticate',0,4000001800.0,'',4000000120.0);
INSERT INTO "login_locks" VALUES('izbica','12345678','identify',0,4000001800.0,'',4000000120.0);
INSERT INTO "prompt_history" VALUES(1,'izbica','welcome','Witamy.','Dzień dobry, tu Izbica.','web:ola','2026-12-06T06:36:31+00:00');
INSERT INTO "prompt_texts" VALUES('izbica','welcome','Dzień dobry, tu Izbica.',1);
