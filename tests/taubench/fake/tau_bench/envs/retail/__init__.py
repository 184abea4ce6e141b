from tau_bench.envs.retail.env import MockRetailDomainEnv as MockRetailDomainEnv
