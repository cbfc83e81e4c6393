// Writes resources/smoke/stories.txt: short, simple, machine-made stories (templates and a seeded generator)
// for the `--preset smoke` run. Shipped so the README's first command needs no download; regenerate with
// `npx tsx scripts/make-smoke-text.ts`.
import { writeFileSync } from 'node:fs';
import { xoroshiro128plus, unsafeUniformIntDistribution } from 'pure-rand';

const rng = xoroshiro128plus(336);
const pick = <T>(xs: T[]): T => xs[unsafeUniformIntDistribution(0, xs.length - 1, rng)];

const names = ['Lily', 'Tom', 'Mia', 'Ben', 'Sara', 'Max', 'Anna', 'Sam', 'Lucy', 'Jack', 'Emma', 'Leo'];
const animals = ['cat', 'dog', 'bird', 'rabbit', 'frog', 'duck', 'fox', 'bear', 'mouse', 'puppy'];
const places = ['the park', 'the garden', 'the forest', 'the beach', 'the farm', 'the river', 'the big hill', 'the old house'];
const things = ['a red ball', 'a shiny stone', 'a little box', 'a blue kite', 'a toy car', 'a big leaf', 'a yellow hat', 'a soft blanket'];
const feelings = ['happy', 'sad', 'scared', 'excited', 'tired', 'curious', 'proud', 'surprised'];
const weather = ['sunny', 'rainy', 'windy', 'cold', 'warm', 'cloudy'];
const actions = ['played with', 'looked at', 'ran after', 'talked to', 'helped', 'hugged', 'shared a snack with', 'sang to'];
const lessons = [
  'It is good to share with friends.',
  'Being kind makes everyone happy.',
  'It is okay to ask for help.',
  'Friends help each other.',
  'Always tell the truth.',
  'Be careful and look around.',
];

function story(): string {
  const a = pick(names);
  let b = pick(names);
  while (b === a) b = pick(names);
  const pet = pick(animals);
  const place = pick(places);
  const thing = pick(things);
  const lines = [
    `Once upon a time, there was a little ${pick(['girl', 'boy'])} named ${a}.`,
    `One ${pick(weather)} day, ${a} went to ${place} with ${pick(['mom', 'dad', 'grandma', 'a friend'])}.`,
    `At ${place}, ${a} saw a ${pet}. The ${pet} was ${pick(feelings)}.`,
    `${a} ${pick(actions)} the ${pet}. Then ${a} found ${thing}.`,
    `"Look!" said ${a}. "I found ${thing}!"`,
    `${b} came to ${place} too. ${b} felt ${pick(feelings)} and wanted ${thing}.`,
    pick([
      `${a} gave ${thing} to ${b}. ${b} smiled and said, "Thank you!"`,
      `${a} and ${b} played with ${thing} together all day.`,
      `${b} asked, "Can I play too?" ${a} said, "Yes, let's play!"`,
    ]),
    `The ${pet} ${pick(['jumped', 'ran', 'danced', 'slept', 'ate a snack'])} and everyone laughed.`,
    `When the sun went down, ${a} went home ${pick(feelings)}.`,
    pick(lessons),
  ];
  return lines.join(' ');
}

const stories: string[] = [];
for (let i = 0; i < 600; i++) stories.push(story());
writeFileSync('resources/smoke/stories.txt', `${stories.join('\n<|endoftext|>\n')}\n`);
process.stdout.write(`resources/smoke/stories.txt: ${stories.length} stories\n`);
