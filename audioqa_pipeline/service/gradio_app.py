"""The Gradio face of the reference service: one ``generate`` endpoint (lyrics, style, duration,
seed -> a WAV file) on Gradio's own queue, over the same job store and worker as the HTTP routes,
as the Gradio demos of DiffRhythm and ACE-Step are built."""

from __future__ import annotations

from audioqa_pipeline.service.jobs import GenerationRequest, QueueFullError, RequestError, Service

#: Seconds between looks at the job from inside the Gradio handler.
_WAIT_S = 0.05


def create_blocks(service: Service):
    import gradio as gr

    def generate(lyrics: str, style: str, duration: float, seed: float) -> str:
        try:
            job = service.submit(GenerationRequest.from_fields(lyrics, style, duration, seed))
        except (RequestError, QueueFullError) as e:
            raise gr.Error(str(e)) from None
        while not service.stopping.is_set():
            current = service.get(job.id)
            if current is None:
                raise gr.Error(f"job {job.id} was lost (the job store restarted)")
            if current.status == "completed":
                return current.path
            if current.status == "failed":
                raise gr.Error(current.error or "generation failed")
            service.stopping.wait(_WAIT_S)
        raise gr.Error("server shutting down")

    with gr.Blocks(title="audio-qa reference song generator") as demo:
        lyrics = gr.Textbox(label="Lyrics (LRC)", lines=6)
        style = gr.Textbox(label="Style prompt")
        duration = gr.Number(label="Duration (s)", value=4.0)
        seed = gr.Number(label="Seed", value=0, precision=0)
        out = gr.Audio(label="Song", type="filepath", format="wav")
        gr.Button("Generate").click(generate, [lyrics, style, duration, seed], out, api_name="generate")
    demo.queue(max_size=service.max_queue, default_concurrency_limit=1)
    return demo
