"""GPT-2: fine-tuning with gpt-2-simple (notebook 02) and the reply engine of notebooks 03 and 06
(a sampling graph built once, a key/value cache, per-comment seeds, a resumable CSV journal).
Importing gpt_2_simple turns off eager execution for the process: only these modules do it, lazily."""
