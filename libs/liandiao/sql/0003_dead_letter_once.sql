-- One row per dead-lettered Kafka record and consumer: an insert whose commit reply was
-- lost in a database restart is retried, and must not record the dead letter twice
-- (seen in the chaos run). A replay makes a new record (a new offset), so a new row.
delete from dead_letters d using dead_letters e
 where d.consumer = e.consumer and d.topic = e.topic and d.kafka_partition = e.kafka_partition
   and d.kafka_offset = e.kafka_offset and d.id > e.id;
create unique index dead_letters_once on dead_letters (consumer, topic, kafka_partition, kafka_offset);
