-- tests/hosted/workloads/workload.sql: SQLite in memory, many rows, an index, sorting, grouping,
-- deletes, vacuum, JSON and large blobs. Run as: sqlite3 :memory: < workload.sql
create table t(id integer primary key, name text, value real);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 30000)
insert into t select x, printf('name-%05d', x * 7919 % 30000), (x * 31 % 1000) / 7.0 from c;
create index t_name on t(name);
select count(*), round(sum(value), 3), min(name), max(name) from t;
select substr(name, 1, 7) as prefix, count(*), round(avg(value), 3) from t group by prefix
  order by prefix limit 5;
select group_concat(name, ',') from (select name from t order by name desc limit 10);
delete from t where id % 3 = 0;
update t set name = name || '-x' where id % 5 = 0;
vacuum;
select count(*), sum(length(name)) from t;
with recursive s(n, v) as (select 1, zeroblob(0) union all select n + 1, zeroblob(n * 1000)
  from s where n < 400) select sum(length(v)) from s;
select json_group_array(json_object('id', id, 'name', name)) from (select * from t order by id limit 3);
create table u as select id, upper(name) as name, hex(randomblob(0)) as empty from t;
select count(distinct name), max(length(name)) from u;
select a.id, b.id from t a join u b on a.id = b.id + 1 where a.id < 20 order by a.id;
