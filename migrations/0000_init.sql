CREATE TABLE "cart_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"cart_key" text NOT NULL,
	"type" text NOT NULL,
	"version" integer NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"data" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cart_items" (
	"cart_key" text NOT NULL,
	"sku_id" text NOT NULL,
	"position" integer NOT NULL,
	"product_id" text NOT NULL,
	"merchant_id" text NOT NULL,
	"name" text NOT NULL,
	"image" text,
	"spec" jsonb,
	"quantity" integer NOT NULL,
	"selected" boolean NOT NULL,
	"unit_price" integer NOT NULL,
	"currency" text NOT NULL,
	"added_at" timestamp with time zone NOT NULL,
	"version" integer NOT NULL,
	"removed" boolean DEFAULT false NOT NULL,
	CONSTRAINT "cart_items_cart_key_sku_id_pk" PRIMARY KEY("cart_key","sku_id")
);
--> statement-breakpoint
CREATE TABLE "carts" (
	"cart_key" text PRIMARY KEY NOT NULL,
	"owner_type" text NOT NULL,
	"owner_id" text NOT NULL,
	"currency" text,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"message_id" text PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"body" jsonb,
	"error" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inventory_audit" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"sku_id" text NOT NULL,
	"kind" text NOT NULL,
	"ref_id" text NOT NULL,
	"reason" text NOT NULL,
	"quantity" integer NOT NULL,
	"on_hand_delta" integer NOT NULL,
	"reserved_delta" integer NOT NULL,
	"sold_delta" integer NOT NULL,
	"sku_version" integer NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "order_items" (
	"order_id" text NOT NULL,
	"sku_id" text NOT NULL,
	"product_id" text NOT NULL,
	"merchant_id" text NOT NULL,
	"name" text NOT NULL,
	"image" text,
	"spec" jsonb,
	"quantity" integer NOT NULL,
	"unit_price" integer NOT NULL,
	"line_total" integer NOT NULL,
	CONSTRAINT "order_items_order_id_sku_id_pk" PRIMARY KEY("order_id","sku_id")
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"order_id" text PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"source" text NOT NULL,
	"status" text NOT NULL,
	"total" integer NOT NULL,
	"currency" text NOT NULL,
	"refund_required" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"paid_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"event_id" text PRIMARY KEY NOT NULL,
	"transaction_id" text NOT NULL,
	"order_id" text NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"amount" integer NOT NULL,
	"currency" text NOT NULL,
	"reason" text,
	"received_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "processed_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "skus" (
	"sku_id" text PRIMARY KEY NOT NULL,
	"product_id" text NOT NULL,
	"merchant_id" text NOT NULL,
	"name" text NOT NULL,
	"image" text,
	"spec" jsonb,
	"price" integer NOT NULL,
	"currency" text NOT NULL,
	"status" text NOT NULL,
	"purchase_limit" integer,
	"stripes" integer DEFAULT 1 NOT NULL,
	"on_hand" integer DEFAULT 0 NOT NULL,
	"reserved" integer DEFAULT 0 NOT NULL,
	"sold" integer DEFAULT 0 NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "cart_events_cart_idx" ON "cart_events" USING btree ("cart_key","version");--> statement-breakpoint
CREATE INDEX "cart_events_occurred_idx" ON "cart_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "cart_items_sku_idx" ON "cart_items" USING btree ("sku_id");--> statement-breakpoint
CREATE INDEX "carts_owner_idx" ON "carts" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "carts_updated_idx" ON "carts" USING btree ("updated_at");--> statement-breakpoint
CREATE INDEX "carts_expires_idx" ON "carts" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "dead_letters_received_idx" ON "dead_letters" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "inventory_audit_event_id_key" ON "inventory_audit" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "inventory_audit_sku_idx" ON "inventory_audit" USING btree ("sku_id");--> statement-breakpoint
CREATE INDEX "inventory_audit_ref_idx" ON "inventory_audit" USING btree ("ref_id");--> statement-breakpoint
CREATE INDEX "order_items_sku_idx" ON "order_items" USING btree ("sku_id");--> statement-breakpoint
CREATE INDEX "orders_owner_idx" ON "orders" USING btree ("owner_id","created_at");--> statement-breakpoint
CREATE INDEX "orders_pending_expiry_idx" ON "orders" USING btree ("expires_at") WHERE status = 'PENDING';--> statement-breakpoint
CREATE UNIQUE INDEX "payments_transaction_id_key" ON "payments" USING btree ("transaction_id");--> statement-breakpoint
CREATE INDEX "payments_order_idx" ON "payments" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "skus_product_idx" ON "skus" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX "skus_merchant_idx" ON "skus" USING btree ("merchant_id");--> statement-breakpoint
CREATE INDEX "skus_status_idx" ON "skus" USING btree ("status","product_id");