CREATE TABLE "inventory_drift" (
	"sku_id" text PRIMARY KEY NOT NULL,
	"fingerprint" text NOT NULL,
	"on_hand_drift" integer NOT NULL,
	"reserved_drift" integer NOT NULL,
	"sold_drift" integer NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"repaired_at" timestamp with time zone
);
