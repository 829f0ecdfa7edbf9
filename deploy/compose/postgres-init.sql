-- One database per component (ARCHITECTURE: "a database per service"), made on the first start of an empty
-- data volume; `gaap migrate` then creates the tables.
CREATE DATABASE gateway;
CREATE DATABASE notify;
CREATE DATABASE pay;
CREATE DATABASE identity;
