/* The runtime an exported ISA Mapper kernel needs: isamap_parallel_for over POSIX threads.
 * Compile it with the kernel's object file: cc -O2 -c isamap_runtime.c && cc main.c kernel.o isamap_runtime.o -lpthread
 * Threads are started per call here, which is simple and portable; the studio's own runtime keeps a pool. */
#include <pthread.h>
#include <stdint.h>

typedef void (*isamap_task)(void*, int64_t, int64_t);

struct isamap_chunk {
    isamap_task task;
    void* context;
    int64_t begin, end;
};

static void* isamap_run_chunk(void* argument) {
    struct isamap_chunk* chunk = (struct isamap_chunk*)argument;
    chunk->task(chunk->context, chunk->begin, chunk->end);
    return 0;
}

void isamap_parallel_for(isamap_task task, void* context, int64_t count, int64_t workers) {
    enum { most = 256 };
    struct isamap_chunk chunks[most];
    pthread_t threads[most];
    int started[most] = {0};
    if (count <= 0)
        return;
    if (workers > count)
        workers = count;
    if (workers > most)
        workers = most;
    if (workers < 1)
        workers = 1;
    for (int64_t w = 0; w < workers; ++w) {
        chunks[w].task = task;
        chunks[w].context = context;
        chunks[w].begin = count * w / workers;
        chunks[w].end = count * (w + 1) / workers;
    }
    for (int64_t w = 1; w < workers; ++w)
        started[w] = pthread_create(&threads[w], 0, isamap_run_chunk, &chunks[w]) == 0;
    for (int64_t w = 1; w < workers; ++w)
        if (!started[w])
            isamap_run_chunk(&chunks[w]); /* no thread to spare: run it here */
    isamap_run_chunk(&chunks[0]);
    for (int64_t w = 1; w < workers; ++w)
        if (started[w])
            pthread_join(threads[w], 0);
}
