from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "outbox_event" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "topic" VARCHAR(128) NOT NULL,
    "type" VARCHAR(64) NOT NULL,
    "payload" JSONB NOT NULL,
    "dispatched_at" TIMESTAMPTZ,
    "attempts" INT NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_outbox_even_dispatc_15f37a" ON "outbox_event" ("dispatched_at", "id");
COMMENT ON TABLE "outbox_event" IS 'A domain event written in the same transaction as the change it describes.';
CREATE TABLE IF NOT EXISTS "user" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "email" VARCHAR(320) NOT NULL UNIQUE,
    "is_admin" BOOL NOT NULL
);
COMMENT ON TABLE "user" IS 'A person known by the email in their JWT.';
CREATE TABLE IF NOT EXISTS "idempotency_key" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "operation" VARCHAR(64) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "fingerprint" VARCHAR(64) NOT NULL,
    "resource_id" UUID,
    "response" JSONB,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "user_id" UUID NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_idempotency_user_id_8f6c25" UNIQUE ("user_id", "operation", "key")
);
COMMENT ON TABLE "idempotency_key" IS 'A client''s idempotency key within (user, operation), with what it produced.';
CREATE TABLE IF NOT EXISTS "webhook_event" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "gateway" VARCHAR(16) NOT NULL,
    "event_id" VARCHAR(255) NOT NULL,
    "event_type" VARCHAR(128) NOT NULL,
    "raw_body" TEXT NOT NULL,
    "verified" BOOL NOT NULL,
    "processed" BOOL NOT NULL,
    "processed_at" TIMESTAMPTZ,
    "attempts" INT NOT NULL,
    "error" TEXT,
    CONSTRAINT "uid_webhook_eve_gateway_2758a2" UNIQUE ("gateway", "event_id")
);
CREATE INDEX IF NOT EXISTS "idx_webhook_eve_process_4b6c08" ON "webhook_event" ("processed", "created_at");
COMMENT ON TABLE "webhook_event" IS 'Every inbound gateway webhook, stored before it is processed.';
CREATE TABLE IF NOT EXISTS "workspace" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "slug" VARCHAR(64) NOT NULL UNIQUE,
    "name" VARCHAR(200) NOT NULL,
    "default_currency" VARCHAR(3) NOT NULL,
    "enabled_gateways" JSONB NOT NULL,
    "fee_bps" INT NOT NULL,
    "tax_bps" INT NOT NULL,
    "hold_minutes" INT NOT NULL,
    "customer_refunds_allowed" BOOL NOT NULL
);
COMMENT ON TABLE "workspace" IS 'An organizer or merchant: the tenant that owns products, orders and settings.';
CREATE TABLE IF NOT EXISTS "membership" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "user_id" UUID NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_membership_user_id_c0172c" UNIQUE ("user_id", "workspace_id")
);
COMMENT ON COLUMN "membership"."role" IS 'STAFF: STAFF\nOWNER: OWNER';
COMMENT ON TABLE "membership" IS 'A user''s role in a workspace (STAFF or OWNER).';
CREATE TABLE IF NOT EXISTS "product" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "description" TEXT NOT NULL,
    "price" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "capacity" INT,
    "held" INT NOT NULL,
    "starts_at" TIMESTAMPTZ,
    "active" BOOL NOT NULL,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "product" IS 'A sellable item with a unit price in minor units and optional capacity.';
CREATE TABLE IF NOT EXISTS "voucher" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "code" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "percent_off" INT,
    "amount_off" BIGINT,
    "currency" VARCHAR(3),
    "max_uses" INT,
    "uses" INT NOT NULL,
    "valid_from" TIMESTAMPTZ,
    "valid_until" TIMESTAMPTZ,
    "active" BOOL NOT NULL,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_voucher_workspa_0580a3" UNIQUE ("workspace_id", "code")
);
COMMENT ON COLUMN "voucher"."kind" IS 'PERCENT: PERCENT\nFIXED: FIXED';
COMMENT ON TABLE "voucher" IS 'A discount code: a percentage or a fixed amount off, with a use limit and window.';
CREATE TABLE IF NOT EXISTS "order" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "number" VARCHAR(32) NOT NULL UNIQUE,
    "currency" VARCHAR(3) NOT NULL,
    "subtotal" BIGINT NOT NULL,
    "discount" BIGINT NOT NULL,
    "tax" BIGINT NOT NULL,
    "fee" BIGINT NOT NULL,
    "total" BIGINT NOT NULL,
    "amount_paid" BIGINT NOT NULL,
    "amount_refunded" BIGINT NOT NULL,
    "status" VARCHAR(24) NOT NULL,
    "hold_expires_at" TIMESTAMPTZ,
    "metadata" JSONB NOT NULL,
    "success_url" VARCHAR(2048),
    "failure_url" VARCHAR(2048),
    "paid_at" TIMESTAMPTZ,
    "cancelled_at" TIMESTAMPTZ,
    "expired_at" TIMESTAMPTZ,
    "customer_id" UUID NOT NULL REFERENCES "user" ("id") ON DELETE RESTRICT,
    "voucher_id" UUID REFERENCES "voucher" ("id") ON DELETE SET NULL,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_order_workspa_ea455e" ON "order" ("workspace_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_order_custome_62140a" ON "order" ("customer_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_order_status_a1c7e6" ON "order" ("status");
COMMENT ON COLUMN "order"."status" IS 'PENDING: PENDING\nPAID: PAID\nPARTIALLY_REFUNDED: PARTIALLY_REFUNDED\nREFUNDED: REFUNDED\nCANCELLED: CANCELLED\nEXPIRED: EXPIRED';
COMMENT ON TABLE "order" IS 'A priced basket held for a customer until it is paid, cancelled or expires.';
CREATE TABLE IF NOT EXISTS "order_item" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "product_name" VARCHAR(200) NOT NULL,
    "quantity" INT NOT NULL,
    "unit_price" BIGINT NOT NULL,
    "line_total" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "order_id" UUID NOT NULL REFERENCES "order" ("id") ON DELETE CASCADE,
    "product_id" UUID NOT NULL REFERENCES "product" ("id") ON DELETE RESTRICT
);
COMMENT ON TABLE "order_item" IS 'A snapshot of a product, its quantity and unit price at order time. Never edited.';
CREATE TABLE IF NOT EXISTS "payment" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "gateway" VARCHAR(16) NOT NULL,
    "status" VARCHAR(24) NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "amount_refunded" BIGINT NOT NULL,
    "refund_reserved" BIGINT NOT NULL,
    "gateway_fee" BIGINT,
    "reference" VARCHAR(255),
    "next_action" JSONB,
    "failure_code" VARCHAR(64),
    "failure_message" TEXT,
    "attempt" INT NOT NULL,
    "note" TEXT,
    "gateway_response" JSONB,
    "succeeded_at" TIMESTAMPTZ,
    "order_id" UUID NOT NULL REFERENCES "order" ("id") ON DELETE RESTRICT,
    "recorded_by_id" UUID REFERENCES "user" ("id") ON DELETE SET NULL,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_payment_order_i_30a106" UNIQUE ("order_id", "attempt")
);
CREATE INDEX IF NOT EXISTS "idx_payment_referen_2163da" ON "payment" ("reference");
CREATE INDEX IF NOT EXISTS "idx_payment_gateway_80c7a6" ON "payment" ("gateway", "reference");
CREATE INDEX IF NOT EXISTS "idx_payment_status_f4da9c" ON "payment" ("status", "updated_at");
COMMENT ON COLUMN "payment"."gateway" IS 'SANDBOX: SANDBOX\nSTRIPE: STRIPE\nPAYSTACK: PAYSTACK\nFLUTTERWAVE: FLUTTERWAVE\nRAZORPAY: RAZORPAY\nMANUAL: MANUAL\nCOMP: COMP';
COMMENT ON COLUMN "payment"."status" IS 'PENDING: PENDING\nREQUIRES_ACTION: REQUIRES_ACTION\nPROCESSING: PROCESSING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED\nCANCELLED: CANCELLED';
COMMENT ON TABLE "payment" IS 'One attempt to collect money for an order through one gateway.';
CREATE TABLE IF NOT EXISTS "dispute" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "gateway_dispute_id" VARCHAR(255) NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "reason" VARCHAR(64) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "order_id" UUID NOT NULL REFERENCES "order" ("id") ON DELETE RESTRICT,
    "payment_id" UUID NOT NULL REFERENCES "payment" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_dispute_payment_f5eec9" UNIQUE ("payment_id", "gateway_dispute_id")
);
COMMENT ON COLUMN "dispute"."status" IS 'OPEN: OPEN\nWON: WON\nLOST: LOST\nCLOSED: CLOSED';
COMMENT ON TABLE "dispute" IS 'A chargeback reported by a gateway. An open dispute blocks refunds of its payment.';
CREATE TABLE IF NOT EXISTS "payment_event" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "refund_id" UUID,
    "type" VARCHAR(64) NOT NULL,
    "from_status" VARCHAR(32),
    "to_status" VARCHAR(32),
    "actor" VARCHAR(320) NOT NULL,
    "data" JSONB NOT NULL,
    "order_id" UUID NOT NULL REFERENCES "order" ("id") ON DELETE RESTRICT,
    "payment_id" UUID REFERENCES "payment" ("id") ON DELETE RESTRICT,
    "workspace_id" UUID NOT NULL REFERENCES "workspace" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_payment_eve_order_i_635726" ON "payment_event" ("order_id", "id");
CREATE INDEX IF NOT EXISTS "idx_payment_eve_workspa_7bb02e" ON "payment_event" ("workspace_id", "id");
COMMENT ON TABLE "payment_event" IS 'One state change (what, from → to, actor, when). Written once, never edited.';
CREATE TABLE IF NOT EXISTS "refund" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "amount" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "reason" VARCHAR(32) NOT NULL,
    "description" TEXT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "gateway_refund_id" VARCHAR(255),
    "failure_code" VARCHAR(64),
    "order_id" UUID NOT NULL REFERENCES "order" ("id") ON DELETE RESTRICT,
    "payment_id" UUID NOT NULL REFERENCES "payment" ("id") ON DELETE RESTRICT,
    "requested_by_id" UUID REFERENCES "user" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_refund_gateway_fae6b6" ON "refund" ("gateway_refund_id");
COMMENT ON COLUMN "refund"."reason" IS 'REQUESTED_BY_CUSTOMER: REQUESTED_BY_CUSTOMER\nDUPLICATE: DUPLICATE\nFRAUDULENT: FRAUDULENT\nEVENT_CANCELLED: EVENT_CANCELLED\nORDER_EXPIRED: ORDER_EXPIRED\nOTHER: OTHER';
COMMENT ON COLUMN "refund"."status" IS 'PENDING: PENDING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED';
COMMENT ON TABLE "refund" IS 'Money returned against one payment. Σ non-failed refunds ≤ the payment''s amount.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXWtz4rYa/isavnQ7QzMJyV6ac+bMEEJa2gRyCNndduk4xlaCJ0amlrwsp+1/P5LvF9"
    "mxwQbj6AsYSa9snleW9F71V2thqFDHR5caXloEts7BXy0kL9hFvKoNWvJyGVSwAiLPdLut"
    "Gmo0w8SUFUKLH2UdQ1qkQqyY2pJoBmKNu0CZy+YTnMnKMzDh0jAJVMFsDWTwJBO4ktdHoI"
    "uAsYQIuB2DmW4oz5i2frSQioHxCDSCwVJeLyAiR+y+qqHQG2voqbpbWEj704ISMZ4gmUOT"
    "3ujLl5bbgNW7XUtuj5Kmtv74g5ZrSIXfIGbt2c/ls/SoQV2NoE3b0iq7XCLrpV12fz+4vL"
    "Jbsv83kxRDtxYoaL1ck7mB/OaWpalHjMZ+FoigSZ9HDfEBWbrucswrcv4SLSCmBf1HVYMC"
    "FT7Kls642fo3BUZhTAT2ndjH2X/cRws1k6ThaCLd9SeS1Eownz1CjFlukWIgNnA0RBhQf/"
    "3j9BsAYpe22A16P3fHb07ffW9DYGDyZNqVNlytf2xCmcgOqQ16gLJiQoaJJJMk2pe0hmgL"
    "yEc8ShlDXnVJj7yLTTjgFQQsCN4fD1wPvgoAb9E/qI6QvnZ5n8GAyeCmfzfp3tyy2y0w/l"
    "O38etO+qymY5euY6VvHH4ZdGpwpgy/E/BpMPkZsJ/g99GwH+eq327ye4s9k2wRQ0LGSpLV"
    "0DD1Sj3UaMuA69ZS3ZDrUUrB9bpw3cMoxHb36QOuc2bjBPd7dJXgc55PHRsBFMlD5PlC/i"
    "bpED2ROf3Zefs2g+kfu2N7uqWtYpwculUdp+6fCPbywrAQ52270J4GiPARD2hiKGvu6npg"
    "KD+xh/jhx07n9PR95/j03Ye3Z+/fv/1w/IG2tZ84WfU+gxMXg58Gw0mUB6wgCrximSZEyr"
    "rIUA/TNHCAn+YY3qepg/s0PrTphInp4xTAN6DYHbqtqvZlUWzfneUA991ZKrqsKgovJjKx"
    "MB/ePrIWNsQD+kgyUmAC6oB6h1CPbvvDgnDbNOeAfU7RpxG9pB9TdD26m5wD9jlFPfrVvz"
    "wHzndcwsnDnJN3OZhzEl+hA+awqihzDFOFJnchTRdVwjRlCix7nmO2kU8CQF3hsSCkUSoB"
    "KgWVydWPz1yZLySgRwG+MkyoPaFf4ToxqcQwdVUhtyFR/yCBDUpbvuRkyitfHREbWRQB+r"
    "+hrRdqjel+fDzoTVrJGaEEaEdePw0FNjwLpsDKhjDTV61kU5UiY5nVGB0jVuK3TVYtOot4"
    "iYzkJxse9j/YU7vAD1S4WBqE7f8ot1ocBWCsRTtLD6gFbaVnt3EefaCu0VH3HQYhekDpwU"
    "ojcw2BNxaGZpup6+jQoFTft+0asJrLBGgELE1DtRSochWBZfbN1QCyDmy+el2wH+zfC+Wf"
    "UP4dxjR2oGogofx7jVzPo/yLzMV5BfUIUQM1IeVL6+4anxdgt3kDoa1Ei/pI7w/NpanxpJ"
    "d0lGNkDUS7/IFMZx7DMhW+lSB9KxYj22JP5i5ldcG7HPUGrVnSfmES0l/uRsNUSH2a+Jqr"
    "KQT8DXQN55HBDwdRBkZkXfVG6pub7uf4IO5djy7i0LMOLmLYw29LjVZvsO+JUjZw33O4+x"
    "zO9hYX1siGSITuMFt36In2W2q37nGjlVuhARXRbfW6d73uZX9fqq0buJhBE8+1ZYuj1grV"
    "trNUWotouxzaLAbHdxiYhg6BhoAMVob5jJeyAsEb+rpfXQHDBKNPw/74e57Cqih5pk7Kpx"
    "XKKKGMOpBp50DVEkIZ9Rq5nkcZxaZyvgD/skeDR7tDfwZ7kSk4mzpE58D+miJ7eTp3Vqn4"
    "Ercf1wWxTy5Vsvf3FQUxjdMJYIUAsgMBhDt0S8D1U7ivhoIbf2XrJOI5biMc6c73J0kX7H"
    "zXlTwy3dLUFBZBJONnSMCcPhx4pGKYDBQLE2MBTWAhounMYUBjQUOa2gYKGzu6TsloS1ep"
    "xhP4Sut7iqbo4cHxo5ZYu4cHICMV+GVObBO0y00InuGSMBETE7h0nB6oAAlsXL7zI58wbT"
    "FFrAJTiOkIkRGWHeGLMBcJZS6jJ4gZ6aINsAHYPg4DBOmzIQPIT3SyY870gA56c50mscaE"
    "0y/RtzQk8tCGX1oeMLw61wX0DyHfCvm2nhPvgUo6Qr59jVzPI99SIXbG26amm6gDinLk2p"
    "fn1N2Fm3TyxJt00gNOOnHRVcT0VB3Tg60ZMYisJxHOClgLU4mQtY1D1lQNK8WjBcNUuwP/"
    "uFHIE/lbMdBdAoH3Zng/Qo7OIQtvl0DgveH4Lj6niwl9e9hDCohi4McIxbDfCn9P2bMRD8"
    "LEgg+b8eEAQ5lv+8PLwfCnosY/l+wcuBdTdNsdXNKf9JNdjyeD7vX1b9K4f3U/vOzbNfGy"
    "KQpqg7Jed9jrX1/bgdDe5RT1P98OxqzMvdjExNjJ40PcSfch7iR8iOcG7Wdzt0sOeQlqkM"
    "Pxgq251iOp7FpAIjP9Z5LR6d7NYZqtvJs3e78DxfLM0nSiIXzEbrsP3XIlTs/YUhSIsWSZ"
    "nH1furYkRrbRhFuzFy022R2ffcgz3dFm6ROeXRmTaGRNt0xYFO8YmcA7L95sa7zB0hIiE0"
    "tKnZcU36y7id0sRis4XWdOOxu9TfgcpRRcrjOXPUeFgl5yMTLhJBdbBr8aljIvjGqUSsRq"
    "Co/OfXh0CvfDEt0P+Umpwu5hwnE2C9zYQpMDW3cSLQHaj0FPBznfvghudL2JYEsfAQzvr6"
    "+z/GYjFnKWg5ijSr5wKa9+HUM9LXVJMpF/Q0ZzZGBqBC62RMh2Gh7QfpqKkefSux1MzUuD"
    "GJXMvpYGUf9rg3FyD8rYDqix3UmTIKo83MGeoNJCHrzZ64WwB0nz2uWIfcBIXuK5QdiRKL"
    "KbD5G07dNR/rRkRDSytsMMKGuIE8wAZOKEEQBbFwGG9J0yAVTpXbk5Giu4w8sxBiJAQAQI"
    "1HNuOVBXcREg8Bq5nidAwJ3RJft3gu/pdsI4XQM92TvHx7kMhccZdsLjuJnQWzSTWKf6fY"
    "VJmuT72Dk5e3/24fTdme/q5ZdkeXglvbnY3kOy9x6cHW+GQ12UrknQ7tidTtcQ288VdumN"
    "0gkGbMwAEYdUdRySOF+l7PNV3A1EwfNVIlQC1GyDljgCJJ85IPUIEG6WEncMloDrbdBTQ5"
    "GNvq+1Ol5lZJGZ8c3RA/N0dqHqdqbWzm4oQb9lDr2daiwoaMCmAStTIwQilu6Dm8tDtjN4"
    "uNk8WKoRp7sZP2VJmV3nyQbCLGAyUea+/O8drZxbgZe1Q8wbbuSOve10dw3ZFgrF3utR8e"
    "RR7BFjqSlFJAOfoIFiwUknj/c3bZWewLCT8P22ASoCsNu+gfiWf/7DUl7rhsxZN9JDeUIk"
    "IpInMkuVEcmTWPGLLCQJYuElXR/rQHLtkOn2cbHk+VykhymHSBoTn7yVrjohoe9H4PGcgz"
    "jCTshvKF3QCZ3W+rKMM0LMEcAeCYAYgA4PHdKpd2EguHZyKCLPS2BuGtbTHNAawLIRruR1"
    "Uq7ZvjtuLv4g0aTTdyIV/5eW2wdrZMJHyFSmMJLOsB0xgIrkhsJ3oa4bteaKOMJ3oWlcz+"
    "O7EJqak5LXy2k8QuR1FsRad93h5cXo8zlwL6aIKU5v+yylP/tmaTx+o1D2fmXJO5yrKbq6"
    "vp9M+uNP3Y+0YejHFI27v4/GtOE58K6m6KY7vO9enwPne4p6o5vbc8A+40txLiG79DMCXn"
    "PClnH/v/eDcf9O6vYmg9GQ5WCJFFD+j0e9/t2dQ+Zf03Fy3+v1+3beFv+SjozuwM7a4nzz"
    "E7lswvXy07Y4GY+KaYwDGuFPIPwJautPIDKB1WOkOxhSKDE0vxblA4dY8GEzPribMalwIs"
    "4Y4Ub410yBuLc3wdVuFJj0I0QVJQvaX8LwSo4OR/AbkRz7exGbRoxMnL+8uQHDy3GlGGqh"
    "wR6na15yrPKtdx5mC4ix/MSBe0LHdTbcIdImIJ6lgOl/nmSPdl//cj0a/uQ1j78CsZ2mq9"
    "pOIP+SBWe325mTahfT0oINkEEKjWKvvRi6xYeut7ejc/mSPgkH9/T1kkcrFs0t83dCdSMl"
    "e5xW2Pzro1VPGlNEqEPJoQ4mVBg+qjRbF4Q1SSlyo4ncaCKUpL4BD6mhJPycXSLlXOUp50"
    "JzaAkg58w6V8+59kV4k+uNyI1WOuj7Tml1IGNTZLTab0aryKhK9xnNESHnOo4WCZFj/p7M"
    "a8OPTXuzmsukDR5NYwGmVufkxw4gRhvQTgyzDVZziL4/Ap/ccDeDTuFtgDJTW1VyhzwBc/"
    "5OigXKMT/SyB5ARM+J6LnDm6AO1Mkwj2upa+MvKreHiITILqLldmdvo8uXlOUtmWJri5I1"
    "wVhR9dnfdM4ojnOESKD8Msr29qsIwj5BA6eL006ejHS0VQbAiYx0Rc/JE2fkefiUbmMTlp"
    "eyk0y5kmfBJFMRKrF9ExaXfVhchGmgctOAMGpVYtQKBYpvCWz+8yzqOdW+nB8tstTUKj+a"
    "l5yOp/oN8tZlaH1DjfIcZQAdXgJ2/gFYaWQO5PCpAhoCCw0Zpl2G7TMHDJtc1oEi0/deI5"
    "y8ASX1O0VT9PAwp7g9PACFBd9g2rFMP1kZmK3BEiKV3tNJQoDBUre8FtjQ1X+BhwcTssRs"
    "tA3tQsOsP6978ANwuj4CAwIMpK9dnTT2sxnQgaRq7lPd3zK9GG7TnlnKNlcJ/Y15WEW6pf"
    "dh4UEsN8KadeAFaIlDGOqy+reFtllom0Uig0ZzneNymbBuFz18QRy6UOzQhfCTJWBOd92P"
    "ke0wd8AelqpKHPg3OJRBnMcgwvfrH77v7bGTCKcO7DBJg6KUSwusmrug5YTTa96YgPvSgM"
    "RENgneJEwnTChidOqzYUzKCSwQ/CtvZTUMHcoo1TTqEsWYO6NUVb01nnC+W4ZejEbXEV5e"
    "DOLblfubi/74zYnNRNpIIymLqbB3CHtHHVXHmfYO/+CSPI76wbmz4pTu3fpYux7pHBV74K"
    "uermE3gzYvKthv7Ey5JiSWiaAK5Cf6FzGxs+S6NogjMLWOT+VTgAz0A8u9QJu5bvfMH7rz"
    "7sw+K8Rt/R0GThaqpM692lsJxXUNpvG2UFy/IhWmUFy/Rq7nUVyLBJ1Cw7dH6KvU8NGXFv"
    "PMBfkyDgfUdUa6xTIJ0zmgfyld/Cb17u8mo5v+2EkwnCieosv72+tBj04758C/nKKrcff+"
    "8v66P5ycg+B6ivof6ZcUSi4cK5ii0fiyP5b6n28HY1Yf+UlrJz+zZ7G/4nvM/fiiCzPSns"
    "xIrzn7d54c3pu8HuXnaA8ybqVGzKUvTlxikVA0T0JRkc5yd+F1IkKjWREazQTVhPTPYLJZ"
    "xrEEqQiAybRb7MPbvabDthx3dxGhUXmERvgtLwHdpifFSkyJhbNiVWlEstHnmJA8rqQbkC"
    "yvRY74jCU0sYHAMzJWiAU8MAMNi2jQ3cPlNRP88mnCi8AoQCmMOzVY69rCuPOK1PzCuPMa"
    "uZ7HuGPP0UUUCj5BOXq2/aYcqz7xhoYpMxYaR5ec6cUXJtuhH59fclCOfAm5LY8/lKbCxd"
    "IgzFYmPcP1lk5Rg6A3uqM+wCku1TMqPJgXcDGj+7y5ttwSrhu/o6ZC5YQIb4dS0+TZmHTq"
    "ZiF21QXlpMdtjoCaIsrvNkfuoWBVpeT90bCUOV/49qraWfL311CjHCK4qmE79wBgFptzID"
    "PJWqEjmz4cMEz6+1H7xhwubQcbYDw+tv18BxgCXVtoxM5vsKI8MlY8Ub2CO3BE+ljKW9v+"
    "9IeQ84WcfxBL2IFKfELOf41czyPnF/Ub2MpfoHZ8rdhh4FlDKX4wLzsuebR1Brp12x/3bN"
    "8/92KKrgafbdck9hXfY+zHM8ndxUh0w5LkRXomgiiViNlOuiG7B9Fzcc1xgH3zkH0NbuB1"
    "Q75KL3DWNxVtOEJ16tgOkzRoZJc2ZxSEcysoN1oEDyXPw1dZ11SJZe4vuluPUopMD/XZnC"
    "dlModXdLXk2eLysNknFXyuM59FRg+R0aOWb5LI6HGgGT12ZGKs55qwW0PQJzibG8Zz6lmJ"
    "kfp2lklo5bQsclYi7dVcAw3NqEytAjeQCrgdtQEm9F1TwQw+0m+WMFrDYGkaCsSYdy7i1r"
    "1xDT5uP6ze/meSd85h5GhEvyPbLBQYEoqdiCisQcIaJOwCwhokuL6JNSg0UxeM3a27qWJD"
    "jWL55gh/BSyAcZimgSBXEhjtYGbDVBhpj6oB2Rpiw7nzIc947nxIH9CsLhZwSsWYmaFyZo"
    "30tBhhmkaM6F1nxaAbdY3ejHcmeJbOKEwm/McLqI0i0kkBwCN0AvFNEN9gDxqnFdrv+mw6"
    "OdpvQuBiyfP0TvchCJEI42D81YGmyTs3OX059gma4BOwi6W4QGhRpapHXzHO0zuGteYZSs"
    "dIs5c90REwzCcZaf+DJnMLX0CTnVdHzu3QbgIRvaaXMgHGCtnqQXYQIG57h+MxD3EMCaEc"
    "xBwv9LJ7F0HlQr0oFE1CvSi4XgP1ItatpyLaGK9940LKy3c1F6cIVn2KoP3M0iZOtzzaHa"
    "oW7+8ud6NdLNn9lm726N9WJdfCwBEPf7kbDVMEGg5tfK3QFAL+BrqGK5MXQ/uzmaXpdFeK"
    "j9j99rFFY1hliz5xKSc2/7MO4lrIRwilGS/oP1VwD1EIuT0utxP6NhWDM0Qh4EwcKmjQRg"
    "sNWaSQ03mcbHfAnrw9EGQVCxODyuZe2gFJ1nVjVVg5ntWN8GmtILmNSNQSYopI1LIVQLvO"
    "z3LIIDkeneVA5fuRNhIvV6G7JVJOL00Fyc0csyVIoSQ1TQGpSlNLF5qaMm9x7CxuTTvLyC"
    "IHbV6ysKTDULItI3UDzDVlcLa97r6pvjq3Una96aaLr/Qd5B4HlK4KCpE0UfNWhSMfe6kK"
    "IOw2byC6J7n0micZes2TpF6T3pFwDzBI162FSHavUtuP30BpyrO9+g38839MwgBm"
)
