from tau_bench.envs.airline.env import MockAirlineDomainEnv as MockAirlineDomainEnv
