-- Parties' agents (代理人, issue 10): read with the parties' contacts from intake
-- (GetDisputeContacts), so an agent is told what their party is told and may read their
-- party's messages. Replaced at each lookup of the dispute's contacts.
create table agents (
    dispute_id uuid not null,
    party_id   text not null,
    agent_id   text not null,
    name       text not null,
    primary key (dispute_id, agent_id)
);
create index agents_by_party on agents (dispute_id, party_id);
