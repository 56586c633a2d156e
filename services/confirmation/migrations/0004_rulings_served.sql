-- Legal service of rulings (送达, issue 10): when notification's message with the ruling reached
-- each party's electronic address (CPL Art.90: the day it reached the addressee's system), from
-- notification's delivery-succeeded. A party's objection window (SPC-Interp Art.372) runs from it.
create table rulings_served (
    delivery_id  uuid primary key,
    dispute_id   uuid not null,
    party_id     text not null,
    served_at    timestamptz not null
);
create index rulings_served_by_party on rulings_served (dispute_id, party_id, served_at);
